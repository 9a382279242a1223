"""Cancel: the scene back to idle under a new generation, so a late result is ignored.

Kie.ai has no cancel: a task it took is still made and still paid for (the ledger keeps its
estimate, the quota counts it). Its result is not kept, since nothing watches a superseded
generation; the answer and the scene's history say so, with what it cost. Clips claimed and not
yet sent (a queued scene, a scene's later sub-shots) are taken off the quota's hold.
"""

from __future__ import annotations

from .. import ledger, plan
from ...dal.history import get_history
from ...dal.projects import get_projects
from ...models.domain import Scene, SceneSlot, SceneStatus
from ...models.errors import Conflict
from ..views import scene_view


def cancel_note(task_id: str | None) -> str:
    if not task_id:
        return "Cancelled before it reached Kie.ai: nothing was charged."
    return (f"Cancelled. Kie.ai cannot stop a task it has started: this clip is still paid for (about "
            f"{ledger.price_per_clip().used:,.0f} credits), and its result will not be kept.")


def release_unsent(slot: SceneSlot, sent: bool) -> None:
    """The scene's claimed clips that will now never reach Kie (cancelled, failed) come off the
    quota's hold: every one without a task yet, but the current one when it was sent (or may
    have been: a timeout) - that one is, or may be, paid for."""
    unsent = plan.clips_to_make(slot.scene) - (1 if sent else 0)
    if slot.owner and unsent > 0 and slot.scene.keyOwner == "system":
        ledger.release(slot.owner, slot.project_id, "system", unsent * ledger.price_per_clip().used)


def cancel(project_id: str, scene_id: str, owner: str) -> Scene:
    record = get_projects().load_broll(project_id, owner=owner)
    index, scene = record.scene(scene_id)
    if scene.status != SceneStatus.GENERATING:
        raise Conflict("This scene is not generating, so there is nothing to cancel.")
    changes = {
        "status": SceneStatus.IDLE.value, "generation": scene.generation + 1, "taskId": None,
        "progress": 0, "error": None, "startedAt": None, "queued": False, "waiting": None,
    }
    get_projects().update_scene(project_id, index, scene_id, changes, owner=owner, generation=scene.generation)
    release_unsent(SceneSlot(project_id, index, scene, owner), sent=bool(scene.taskId))
    note = cancel_note(scene.taskId)
    get_history().record(project_id, scene_id, "cancelled", taskId=scene.taskId, prompt=scene.aiPrompt, note=note)
    view = scene_view(scene.model_copy(update=changes | {"status": SceneStatus.IDLE}))
    view.statusNote = note
    return view
