"""Cancel: the scene back to idle under a new generation, so a late result cannot overwrite it.

Kie.ai has no cancel: a task it took is still made and still paid for (the ledger keeps its
estimate, the quota counts it). The scene keeps it in lateTasks, and when Kie finishes it, its
clip lands in the scene's History (late.py); the answer and the history say so, with what it
cost. Clips claimed and not yet sent (a queued scene, a scene's later sub-shots) are taken off
the quota's hold.
"""

from __future__ import annotations

import time

from .. import ledger, plan
from ...dal import projects as storage
from ...dal.history import get_history
from ...dal.projects import get_projects
from ...models.domain import LateTask, Scene, SceneSlot, SceneStatus
from ...models.errors import Conflict
from ..views import scene_view
from .executions import execution_name

# Cancelled tasks kept per scene: each is about a prompt's size in the project's one item, and
# leaves it within the generation deadline; past this many, the oldest is let go.
MAX_LATE_TASKS = 10


def cancel_note(task_id: str | None) -> str:
    if not task_id:
        return "Cancelled before it reached Kie.ai: nothing was charged."
    return (f"Cancelled. Kie.ai cannot stop a task it has started: this clip is still paid for (about "
            f"{ledger.price_per_clip().used:,.0f} credits); if Kie.ai finishes it, it lands in this scene's History.")


def release_unsent(slot: SceneSlot, sent: bool) -> None:
    """The scene's claimed clips that will now never reach Kie (cancelled, failed) come off the
    quota's hold: every one without a task yet, but the current one when it was sent (or may
    have been: a timeout) - that one is, or may be, paid for."""
    unsent = plan.clips_to_make(slot.scene) - (1 if sent else 0)
    if slot.owner and unsent > 0 and slot.scene.keyOwner == "system":
        ledger.release(slot.owner, slot.project_id, "system", unsent * ledger.price_per_clip().used)


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
