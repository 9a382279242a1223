"""A scene's history as the person sees it, and making an earlier clip current again.

Every clip stays in the media bucket under its task id, so choosing one from history is
a change of pointers: no Kie task, no charge.
"""

from __future__ import annotations

from datetime import datetime, timezone

from . import history, storage
from .errors import Conflict
from .media import presigned_url
from .models import HistoryItem, Scene, SceneHistory, SceneStatus
from .projects import scene_view


def _item(entry: dict, current_key: str | None) -> HistoryItem:
    fields = {k: v for k, v in entry.items() if k in HistoryItem.model_fields and k not in ("at", "videoUrl", "current")}
    video_key = entry.get("videoKey")
    return HistoryItem(
        **fields,
        at=datetime.fromtimestamp(entry["id"] / 1000, timezone.utc).isoformat(timespec="seconds"),
        videoUrl=presigned_url(video_key) if video_key else None,
        current=entry["kind"] == "clip" and bool(video_key) and video_key == current_key,
    )


def scene_history(project_id: str, scene_id: str, owner: str) -> SceneHistory:
    _, scene = storage.load_broll(project_id, owner=owner).scene(scene_id)
    current = scene.videoKey if scene.status == SceneStatus.COMPLETED else None
    return SceneHistory(sceneId=scene_id, entries=[_item(e, current) for e in history.entries(project_id, scene_id)])


def select_clip(project_id: str, scene_id: str, entry_id: int, owner: str) -> Scene:
    """Make the clip of a history entry the scene's clip (a new generation, so nothing in
    flight for an older one can overwrite it)."""
    record = storage.load_broll(project_id, owner=owner)
    index, scene = record.scene(scene_id)
    entry = history.entry(project_id, scene_id, entry_id)
    if entry["kind"] != "clip" or not entry.get("videoKey"):
        raise Conflict("That history entry has no clip to use.")
    if scene.status == SceneStatus.GENERATING:
        raise Conflict("This scene is generating. Cancel it first, or wait until it finishes.")
    changes = {
        "status": SceneStatus.COMPLETED.value, "generation": scene.generation + 1, "videoKey": entry["videoKey"],
        "taskId": entry.get("taskId"), "aiPrompt": entry.get("prompt", scene.aiPrompt),
        "promptSource": entry.get("promptSource", scene.promptSource), "styleVersion": entry.get("styleVersion"),
        "seed": entry.get("seed"), "error": None, "progress": 100, "rewrite": None,
    }
    storage.update_scene(project_id, index, scene_id, changes, owner=owner, generation=scene.generation)
    history.record(project_id, scene_id, "selected", taskId=entry.get("taskId"), videoKey=entry["videoKey"],
                   prompt=entry.get("prompt"))
    return scene_view(scene.model_copy(update=changes | {"status": SceneStatus.COMPLETED}))
