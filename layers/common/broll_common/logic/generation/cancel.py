"""Cancel: the scene back to idle under a new generation, so a late result cannot overwrite it.

Kie.ai has no cancel: a task it took is still made and still paid for (the ledger keeps its
estimate, the quota counts it). The scene keeps it in lateTasks, and when Kie finishes it, its
clip lands in the scene's History (late.py); the answer and the history say so, with what it
cost. Clips claimed and not yet sent (a queued scene, a scene's later sub-shots) are taken off
the quota's hold.
"""

from __future__ import annotations

import time

from aws_lambda_powertools import Logger

from .. import ledger, plan
from ...config import settings
from ...dal import projects as storage
from ...dal.history import get_history
from ...dal.projects import get_projects
from ...models.domain import LateTask, Scene, SceneSlot, SceneStatus
from ...models.errors import Conflict
from ..views import scene_view
from .executions import execution_name

logger = Logger(child=True)

# Cancelled tasks kept per scene: each is about a prompt's size in the project's one item, and
# leaves it within the generation deadline; past this many, the oldest is let go.
MAX_LATE_TASKS = 10


def price_in_use() -> float:
    """The ledger's price per clip, or the configured one when the ledger cannot be read: a figure
    never fails a submit or a cancel."""
    try:
        return ledger.price_per_clip().used
    except Exception:  # noqa: BLE001 - the ledger is best effort around the scene's writes
        logger.exception("price per clip not read; the configured one is used")
        return settings().kie_credits_per_clip


def cancel_note(task_id: str | None) -> str:
    if not task_id:
        return "Cancelled before it reached Kie.ai: nothing was charged."
    return (f"Cancelled. Kie.ai cannot stop a task it has started: this clip is still paid for (about "
            f"{price_in_use():,.0f} credits); if Kie.ai finishes it, it lands in this scene's History.")


def release_unsent(slot: SceneSlot, sent: bool) -> None:
    """The scene's claimed clips that will now never reach Kie (cancelled, failed) come off the
    quota's hold (ledger.release; `sent`: the current one was, or may have been, sent). Best effort,
    after the scene's write that matters: a ledger that cannot be written is logged (the hold then
    runs out at its expiry)."""
    try:
        ledger.release(slot, sent)
    except Exception:  # noqa: BLE001 - the scene is idle or failed already
        where = {"projectId": slot.project_id, "sceneId": slot.scene.sceneId}
        logger.exception("claim's hold not released", extra=where)


def kept_after_cancel(project_id: str, scene: Scene) -> dict[str, dict]:
    """The lateTasks a cancel of this scene writes: its sent task added, the newest kept."""
    late = {task_id: task.model_dump(mode="json", exclude_none=True) for task_id, task in scene.lateTasks.items()}
    late[scene.taskId] = LateTask(
        generation=scene.generation, startedAt=scene.startedAt or time.time(), keyOwner=scene.keyOwner,
        loop=scene.pollExecution or execution_name(project_id, scene), prompt=scene.aiPrompt,
        promptSource=scene.promptSource, seed=scene.seed, styleVersion=scene.styleVersion,
        **plan.shot_fields(scene, plan.current(scene)),
    ).model_dump(mode="json", exclude_none=True)
    return dict(sorted(late.items(), key=lambda item: item[1]["startedAt"])[-MAX_LATE_TASKS:])


def _generating(project_id: str, scene_id: str, owner: str) -> tuple[int, Scene]:
    index, scene = get_projects().load_broll(project_id, owner=owner).scene(scene_id)
    if scene.status != SceneStatus.GENERATING:
        raise Conflict("This scene is not generating, so there is nothing to cancel.")
    return index, scene


def cancel(project_id: str, scene_id: str, owner: str) -> Scene:
    index, scene = _generating(project_id, scene_id, owner)
    while True:
        changes = {
            "status": SceneStatus.IDLE.value, "generation": scene.generation + 1, "taskId": None,
            "progress": 0, "error": None, "startedAt": None, "queued": False, "waiting": None,
            "submittingAt": None,
        }
        if scene.taskId:
            changes["lateTasks"] = kept_after_cancel(project_id, scene)
        # The lateTasks written are those read: each one still there (none landed meanwhile).
        still_late = tuple(f"lateTasks.{task_id}" for task_id in scene.lateTasks)
        try:
            get_projects().update_scene(project_id, index, scene_id, changes, owner=owner,
                                        generation=scene.generation, present=still_late)
            break
        except storage.StaleScene:
            index, again = _generating(project_id, scene_id, owner)
            if again.generation != scene.generation:
                raise
            scene = again  # only an earlier cancelled task landed meanwhile: write what is left
    release_unsent(SceneSlot(project_id, index, scene, owner), sent=bool(scene.taskId))
    note = cancel_note(scene.taskId)
    get_history().record(project_id, scene_id, "cancelled", taskId=scene.taskId, prompt=scene.aiPrompt, note=note)
    view = scene_view(storage.with_changes(scene, changes))
    view.statusNote = note
    return view
