"""The poll loop's executions and waits: one Step Functions execution per generation (started,
found again by its name), the growing waits between its looks, and the state it hands back."""

from __future__ import annotations

import time

from aws_lambda_powertools import Logger

from .. import callback_health
from ..backoff import Backoff, PollSchedule
from ...clients.poll_loop import get_poll_loops
from ...config import settings
from ...dal import projects as storage
from ...dal.projects import get_projects
from ...models.domain import Scene, SceneSlot

logger = Logger(child=True)


def whole_seconds(wait: float) -> int:
    """Step Functions' Wait takes whole seconds (SecondsPath must be an integer)."""
    return max(1, round(wait))


def _poll_schedule() -> PollSchedule:
    s = settings()
    return PollSchedule(
        first=s.poll_first_wait_s, callback_grace=s.poll_callback_grace_s,
        factor=s.poll_factor, floor=s.poll_min_wait_s, cap=s.poll_max_wait_s,
    )


def _elapsed(scene: Scene) -> float:
    return time.time() - (scene.startedAt or time.time())


def poll_wait(attempt: int, scene: Scene, callbacks: bool | None = None) -> int:
    """Seconds until the loop's next look at this scene's task (whole, for the Wait state);
    `callbacks`: whether this clip's callback can be trusted (read when not given)."""
    if callbacks is None:
        callbacks = attempt > 0 and callback_health.trusted(since=scene.startedAt or 0)
    return whole_seconds(_poll_schedule().wait(attempt, _elapsed(scene), callbacks=callbacks))


def retry_backoff() -> Backoff:
    """Retrying a busy Kie (5xx) from the loop: exponential, within the poll cap."""
    s = settings()
    return Backoff(first=s.poll_min_wait_s, factor=2.0, cap=s.poll_max_wait_s)


def _next_turn(state: dict, attempt: int, wait: float) -> dict:
    return state | {"outcome": "pending", "attempt": attempt, "waitSeconds": whole_seconds(wait)}


def _done(state: dict, attempt: int) -> dict:
    return state | {"outcome": "done", "attempt": attempt}


def execution_name(project_id: str, scene: Scene, restart: str = "") -> str:
    """The first loop of a generation has a name derived from it (no extra write); a loop
    restarted by the sweep gets a suffix, and its name is kept on the scene."""
    return f"{project_id}-{scene.sceneId}-g{scene.generation}{restart}"[-80:].strip("-")


def _start_poll_loop(
    slot: SceneSlot, attempt: int = 0, submit: bool = False, first_wait: int = 1, restart: bool = False,
) -> None:
    """One execution per generation, found again by its name (see execution_name)."""
    project_id, index, scene = slot.project_id, slot.index, slot.scene
    state = {
        "projectId": project_id,
        "sceneId": scene.sceneId,
        "sceneIndex": index,
        "taskId": scene.taskId,
        "generation": scene.generation,
        "attempt": attempt,
        "waitSeconds": first_wait if submit else poll_wait(attempt, scene),
    }
    name = execution_name(project_id, scene, f"-r{int(time.time() * 1000)}" if restart else "")
    try:
        get_poll_loops().start(name, state)
        if restart:
            get_projects().update_scene(project_id, index, scene.sceneId, {"pollExecution": name}, owner=None, generation=scene.generation)
    except storage.StaleScene:
        pass  # settled meanwhile: the restarted loop will find nothing to do
    except Exception:  # noqa: BLE001 - the sweep repairs a scene whose loop never started
        logger.exception("could not start the poll loop", extra={"projectId": project_id, "sceneId": scene.sceneId})


def _loop_alive(project_id: str, scene: Scene) -> bool:
    # A loop that never started (or is gone) is not alive.
    return get_poll_loops().status(scene.pollExecution or execution_name(project_id, scene)) == "RUNNING"
