"""Cancel: the scene back to idle under a new generation, so a late result is ignored."""

from __future__ import annotations

from ...dal.history import get_history
from ...dal.projects import get_projects
from ...models.domain import Scene, SceneStatus
from ...models.errors import Conflict
from ..views import scene_view



def cancel(project_id: str, scene_id: str, owner: str) -> Scene:
    record = get_projects().load_broll(project_id, owner=owner)
    index, scene = record.scene(scene_id)
    if scene.status != SceneStatus.GENERATING:
        raise Conflict("This scene is not generating, so there is nothing to cancel.")
    changes = {
        "status": SceneStatus.IDLE.value, "generation": scene.generation + 1, "taskId": None,
        "progress": 0, "error": None, "startedAt": None,
    }
    get_projects().update_scene(project_id, index, scene_id, changes, owner=owner, generation=scene.generation)
    get_history().record(project_id, scene_id, "cancelled", taskId=scene.taskId, prompt=scene.aiPrompt)
    return scene_view(scene.model_copy(update=changes | {"status": SceneStatus.IDLE}))
