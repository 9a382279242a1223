"""A project as a whole: rename, duplicate (the work, not the clips) and delete (with its files)."""

from __future__ import annotations

from datetime import datetime, timezone

from ..dal import history, projects as storage
from ..dal.media import get_media
from ..models.api import DeleteAnswer, DuplicateRequest, Project, ProjectRename
from ..models.domain import MediaStatus, Scene, SceneStatus
from ..models.errors import Conflict
from . import media_jobs
from .media import project_folder
from .projects import new_project_id
from .views import project_view

# What a duplicate keeps of each scene: the person's direction and the prompts written for it.
KEPT_SCENE_FIELDS = ("sceneId", "sceneTitle", "sceneType", "text", "timeRange", "shotInstructions", "aiPrompt",
                     "promptSource", "promptNote", "shotCount", "styleVersion", "seed")


def rename(project_id: str, body: ProjectRename, owner: str) -> Project:
    storage.update_meta(project_id, {"name": body.name}, owner=owner)
    return project_view(storage.load_project(project_id, owner=owner))


def _fresh_scene(scene: Scene) -> dict:
    kept = {name: getattr(scene, name) for name in KEPT_SCENE_FIELDS}
    # Sub-shots keep their ranges and prompts; their clips stay with the original.
    plan = [shot.model_copy(update={"taskId": None, "videoKey": None}) for shot in scene.plan]
    return storage.scene_document(Scene.model_validate(kept | {"plan": plan, "status": SceneStatus.IDLE}))


def duplicate(project_id: str, body: DuplicateRequest, owner: str) -> Project:
    """A new project with the same script, media, direction, prompts and style, and no clips."""
    record = storage.load_project(project_id, owner=owner)
    name = body.name or f"{record.name} (copy)"
    copy_id = new_project_id(name)
    audio, avatar = record.audio.stored(), record.avatar.stored()
    media = get_media()
    broll: dict = {"scenes": [_fresh_scene(s) for s in record.scenes], "status": "in_progress",
                   "timingsSource": record.broll.timingsSource or "words"}
    if record.broll.style:
        broll["style"] = record.broll.style
    if record.broll.layout:
        broll["layout"] = record.broll.layout.stored()
    for kind, part, key_field in (("voiceover", audio, "audioKey"), ("avatar", avatar, "avatarVideoKey")):
        key = part.get(key_field)
        if not key:
            continue
        new_key = media_jobs.new_key(owner, copy_id, media_jobs.KINDS[kind], key.rsplit(".", 1)[-1])
        media.copy(key, new_key)  # its own copy: deleting either project leaves the other whole
        part[key_field] = new_key
        state = getattr(record.broll, media_jobs.KINDS[kind].part)
        if state and state.status == MediaStatus.READY:
            broll[media_jobs.KINDS[kind].part] = state.stored() | {"key": new_key, "generation": 1}
    storage.create_project(copy_id, {
        storage.STEP_PROJECT: {"name": name, "createdAt": datetime.now(timezone.utc).isoformat(),
                               "duplicateOf": project_id},
        storage.STEP_SCRIPT: record.script.stored(),
        storage.STEP_AUDIO: audio,
        storage.STEP_AVATAR: avatar,
        storage.STEP_BROLL: broll,
    }, owner=owner)
    return project_view(storage.load_project(copy_id, owner=owner))


def delete(project_id: str, owner: str) -> DeleteAnswer:
    """The project, its history and every file in its folder. Refused while a clip is being
    made: Kie is paid for it, and its result would have nowhere to go."""
    record = storage.load_broll(project_id, owner=owner)
    generating = [s.sceneTitle for s in record.scenes if s.status == SceneStatus.GENERATING]
    if generating:
        raise Conflict(f"{len(generating)} scene(s) are generating ({', '.join(generating)}): cancel them or "
                       "wait until they finish, then delete the project.")
    storage.delete_project(project_id, owner=owner)
    history.delete_scenes(project_id, [s.sceneId for s in record.scenes])
    removed = get_media().delete_folder(project_folder(owner, project_id))
    return DeleteAnswer(deleted=project_id, mediaObjects=removed)

