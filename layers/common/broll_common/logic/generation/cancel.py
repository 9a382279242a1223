"""Cancel: the scene back to idle under a new generation, so a late result cannot overwrite it.

Kie.ai has no cancel: a task it took is still made and still paid for (the ledger keeps its
estimate, the quota counts it). The scene keeps it in lateTasks, and when Kie finishes it, its
clip lands in the scene's History (late.py); the answer and the history say so, with what it
cost. Clips claimed and not yet sent (a queued scene, a scene's later sub-shots) are taken off
the quota's hold.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from .. import ledger, plan
from ...dal import projects as storage
from ...dal.history import get_history
from ...dal.projects import get_projects
from ...models.domain import TASK_ID_PATTERN, LateTask, Scene, SceneSlot, SceneStatus
from ...models.errors import Conflict
from ..views import scene_view
from .executions import execution_name

logger = Logger(child=True)

CANCEL_TRIES = 3  # a cancel racing cancelled tasks landing writes again what is left, this often

# Cancelled tasks a project keeps, across its scenes, in its one item (400 KB at most): this many
# with their prompt (about 2 KB each); past that, newer ones keep theirs and older ones are kept
# without it (about 150 B: History falls back to the scene's prompt); past the ceiling, the oldest
# is no longer watched and History says so (it is still paid for).
MAX_PROMPTED_LATE_TASKS = 20
MAX_LATE_TASKS = 200
PROMPT_FIELDS = ("prompt", "promptSource")
UNWATCHED = ("It had been cancelled and is paid for, but is no longer watched: its clip, if Kie.ai makes it, "
             "will not come here.")


def cancel_note(task_id: str | None, submitting: bool = False) -> str:
    if not task_id and submitting:
        return ("Cancelled. It may have reached Kie.ai as you cancelled: if it did, it is paid for and lands in "
                "this scene's History.")
    if not task_id:
        return "Cancelled before it reached Kie.ai: nothing was charged."
    return (f"Cancelled. Kie.ai cannot stop a task it has started: this clip is still paid for (about "
            f"{ledger.price_in_use():,.0f} credits); if Kie.ai finishes it, it lands in this scene's History.")


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


def late_task_of(project_id: str, sent: Scene) -> LateTask:
    """The cancelled task of a scene as it was sent (its generation, clock, key, loop, prompt)."""
    return LateTask(
        generation=sent.generation, startedAt=sent.startedAt or time.time(), keyOwner=sent.keyOwner,
        loop=sent.pollExecution or execution_name(project_id, sent), prompt=sent.aiPrompt,
        promptSource=sent.promptSource, seed=sent.seed, styleVersion=sent.styleVersion,
        **plan.shot_fields(sent, plan.current(sent)),
    )


@dataclass(frozen=True)
class Kept:
    """A scene's lateTasks with one more task (the whole map, to write), and the tasks let go."""

    late: dict[str, dict]
    dropped: dict[str, LateTask]


def kept_late(scenes: list[Scene], scene: Scene, task_id: str, task: LateTask) -> Kept:
    """The scene's lateTasks with task_id added, within the project's bounds (counted over all its
    scenes): the newest MAX_PROMPTED_LATE_TASKS keep their prompt, MAX_LATE_TASKS are watched. A
    task id that cannot be a map key (Kie's ids match TASK_ID_PATTERN) is let go like the oldest."""
    others = [t for s in scenes if s.sceneId != scene.sceneId for t in s.lateTasks.values()]
    prompted_left = max(0, MAX_PROMPTED_LATE_TASKS - sum(1 for t in others if t.prompt))
    watched_left = max(0, MAX_LATE_TASKS - len(others))
    late = dict(scene.lateTasks)
    dropped = {}
    if _watchable(task_id):
        late[task_id] = task
    else:
        dropped[task_id] = task
    newest = sorted(late.items(), key=lambda item: item[1].startedAt, reverse=True)
    kept = {}
    for n, (tid, t) in enumerate(newest):
        if n >= watched_left:
            dropped[tid] = t
        else:
            kept[tid] = t if n < prompted_left else t.model_copy(update=dict.fromkeys(PROMPT_FIELDS))
    plain = {tid: t.model_dump(mode="json", exclude_none=True) for tid, t in reversed(kept.items())}
    return Kept(plain, dropped)


def record_dropped(project_id: str, scene_id: str, kept: Kept) -> None:
    """History says which paid tasks are no longer watched (after the write that let them go)."""
    for task_id, task in kept.dropped.items():
        logger.warning("cancelled task no longer watched", extra={"projectId": project_id, "taskId": task_id[-4:]})
        error = ("Too many cancelled clips are still at Kie.ai to watch this one." if _watchable(task_id)
                 else "Kie.ai answered with a task id this app cannot watch.")
        get_history().record(project_id, scene_id, "failed", taskId=task_id, prompt=task.prompt or None,
                             error=error, note=UNWATCHED)


def _watchable(task_id: str) -> bool:
    """A task id that can be a key of lateTasks (its writes name `lateTasks.{taskId}`)."""
    return re.fullmatch(TASK_ID_PATTERN, task_id) is not None


def still_late(scene: Scene) -> dict:
    """A whole-map write of lateTasks writes those read: each one must still be there (none landed
    meanwhile), and no other (none kept meanwhile: a submit Kie took as the scene was cancelled)."""
    return {"present": tuple(f"lateTasks.{task_id}" for task_id in scene.lateTasks),
            "counted": {"lateTasks": len(scene.lateTasks)}}


def _generating(project_id: str, scene_id: str, owner: str) -> tuple[int, Scene, list[Scene]]:
    record = get_projects().load_broll(project_id, owner=owner)
    index, scene = record.scene(scene_id)
    if scene.status != SceneStatus.GENERATING:
        raise Conflict("This scene is not generating, so there is nothing to cancel.")
    return index, scene, record.scenes


def cancel(project_id: str, scene_id: str, owner: str) -> Scene:
    index, scene, scenes = _generating(project_id, scene_id, owner)
    for _ in range(CANCEL_TRIES):
        changes = {
            "status": SceneStatus.IDLE.value, "generation": scene.generation + 1, "taskId": None,
            "progress": 0, "error": None, "startedAt": None, "queued": False, "waiting": None,
            "submittingAt": None,
        }
        kept = kept_late(scenes, scene, scene.taskId, late_task_of(project_id, scene)) if scene.taskId else None
        if kept:
            changes["lateTasks"] = kept.late
        try:
            get_projects().update_scene(project_id, index, scene_id, changes, owner=owner,
                                        generation=scene.generation, **still_late(scene))
            break
        except storage.StaleScene:
            index, again, scenes = _generating(project_id, scene_id, owner)
            if again.generation != scene.generation:
                raise
            scene = again  # only a cancelled task landed (or was kept) meanwhile: write what is there now
    else:
        raise Conflict("This scene changed several times while it was being cancelled. Try again.")
    if kept:
        record_dropped(project_id, scene_id, kept)
    submitting = scene.submittingAt is not None
    release_unsent(SceneSlot(project_id, index, scene, owner), sent=bool(scene.taskId) or submitting)
    note = cancel_note(scene.taskId, submitting)
    get_history().record(project_id, scene_id, "cancelled", taskId=scene.taskId, prompt=scene.aiPrompt, note=note)
    view = scene_view(storage.with_changes(scene, changes))
    view.statusNote = note
    return view
