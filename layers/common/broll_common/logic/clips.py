"""A scene's history as the person sees it, and making an earlier clip current again.

Every clip stays in the media bucket under its task id, so choosing one from history is
a change of pointers: no Kie task, no charge.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..dal import history, projects as storage
from . import plan
from ..models.errors import Conflict
from .media import presigned_url
from ..models.api import HistoryItem, SceneHistory
from ..models.domain import Scene, SceneStatus
from .views import scene_view


def _item(entry: dict, current_keys: set[str]) -> HistoryItem:
    fields = {k: v for k, v in entry.items() if k in HistoryItem.model_fields and k not in ("at", "videoUrl", "current")}
    video_key = entry.get("videoKey")
    return HistoryItem(
        **fields,
        at=datetime.fromtimestamp(entry["id"] / 1000, timezone.utc).isoformat(timespec="seconds"),
        videoUrl=presigned_url(video_key) if video_key else None,
        current=entry["kind"] == "clip" and bool(video_key) and video_key in current_keys,
    )


def scene_history(project_id: str, scene_id: str, owner: str) -> SceneHistory:
    _, scene = storage.load_broll(project_id, owner=owner).scene(scene_id)
    current = {key for _, _, key in plan.segments(scene)}
    return SceneHistory(sceneId=scene_id, entries=[_item(e, current) for e in history.entries(project_id, scene_id)])


def select_clip(project_id: str, scene_id: str, entry_id: int, owner: str) -> Scene:
    """Make the clip of a history entry the scene's clip, or (an entry of a sub-shot) that
    sub-shot's clip; a new generation, so nothing in flight for an older one can overwrite it."""
    record = storage.load_broll(project_id, owner=owner)
    index, scene = record.scene(scene_id)
    entry = history.entry(project_id, scene_id, entry_id)
    if entry["kind"] != "clip" or not entry.get("videoKey"):
        raise Conflict("That history entry has no clip to use.")
    if scene.status == SceneStatus.GENERATING:
        raise Conflict("This scene is generating. Cancel it first, or wait until it finishes.")
    changes = {"generation": scene.generation + 1, "error": None, "rewrite": None}
    changes |= _sub_shot_selected(scene, entry) if entry.get("shot") else _clip_selected(scene, entry)
    storage.update_scene(project_id, index, scene_id, changes, owner=owner, generation=scene.generation)
    history.record(project_id, scene_id, "selected", taskId=entry.get("taskId"), videoKey=entry["videoKey"],
                   prompt=entry.get("prompt"), shot=entry.get("shot"), shots=entry.get("shots"))
    return scene_view(storage.with_changes(scene, changes))


def _clip_selected(scene: Scene, entry: dict) -> dict:
    """One clip for the whole scene: the plan's prompts stay, its clips leave the cut."""
    shots = [shot.model_copy(update={"videoKey": None, "taskId": None}) for shot in scene.plan]
    return {
        "status": SceneStatus.COMPLETED.value, "videoKey": entry["videoKey"], "taskId": entry.get("taskId"),
        "aiPrompt": entry.get("prompt", scene.aiPrompt), "promptSource": entry.get("promptSource", scene.promptSource),
        "styleVersion": entry.get("styleVersion"), "seed": entry.get("seed"), "progress": 100, "plan": plan.stored(shots),
    }


def _sub_shot_selected(scene: Scene, entry: dict) -> dict:
    """One sub-shot's clip replaced; the scene is complete once every sub-shot has one."""
    n, count = int(entry["shot"]), int(entry.get("shots") or 0)
    if len(scene.plan) != count:
        raise Conflict(f"That clip was sub-shot {n} of a plan of {count} clips; this scene's plan has "
                       f"{len(scene.plan) or 1} now. Set the plan back to {count} clips to use it.")
    shots = [shot.model_copy() for shot in scene.plan]
    shot = shots[n - 1]
    shot.videoKey, shot.taskId = entry["videoKey"], entry.get("taskId")
    shot.prompt, shot.promptSource = entry.get("prompt", shot.prompt), entry.get("promptSource", shot.promptSource)
    changes = {"plan": plan.stored(shots)}
    if all(s.videoKey for s in shots):
        changes |= {"status": SceneStatus.COMPLETED.value, "videoKey": shots[0].videoKey, "progress": 100,
                    "styleVersion": entry.get("styleVersion"), "seed": entry.get("seed")}
    return changes
