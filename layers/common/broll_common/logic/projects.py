"""Projects: import (stages 3/4/5), reads (views.py shapes them), scene edits, prompts, completion."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from . import media_jobs, plan, quota, render, style
from ..dal import history, projects as storage
from ..models.api import MediaSource, PlanEdit, Project, ProjectImport, ProjectSummary, RenderView, SceneEdit
from ..models.domain import Scene, SceneStatus
from ..models.api import TaskStatus
from ..models.errors import Conflict, InvalidInput
from .media_jobs import KINDS
from .timeline import ranges_for, scene_id, scene_type, timings_cover
from .views import project_view, scene_view, summary


def new_project_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24] or "project"
    return f"{slug}-{int(time.time() * 1000) % 10**8:08d}"


def _media_sources(project_id: str, body: ProjectImport, owner: str) -> dict[str, dict]:
    """The voice-over's and the avatar's job at import ({kind: job}), each checked now: a key
    must be in the caller's own folder (else it would hand its importer a presigned URL to
    somebody else's file), a URL must be one the worker may fetch. Nothing is stored otherwise."""
    given = {
        "voiceover": ("stage4.audioKey", body.stage4.audioKey, "stage4.audioUrl", body.stage4.audioUrl),
        "avatar": ("stage5.avatarVideoKey", body.stage5.avatarVideoKey, "stage5.avatarVideoUrl", body.stage5.avatarVideoUrl),
    }
    sources = {}
    for kind, (key_field, key, url_field, url) in given.items():
        if key and url:
            raise InvalidInput(f"{key_field} and {url_field}: give the file's key or its URL, not both.")
        if key or url:
            source = MediaSource(key=key, url=url)
            sources[kind] = media_jobs.job_for(KINDS[kind], source, owner, project_id, url_field if url else key_field)
    return sources


def import_project(body: ProjectImport, owner: str) -> Project:
    project_id = body.projectId or new_project_id(body.name)
    sources = _media_sources(project_id, body, owner)
    edited = body.stage3.editedScenes
    ids: list[str] = []
    for index, scene in enumerate(edited):
        ids.append(scene_id(scene, index, set(ids)))
    if len(set(ids)) != len(ids):
        raise Conflict("Two scenes share one sceneId; scene ids must be unique.")
    ranges = ranges_for(ids, [s.text for s in edited], body.stage4.audioDurationSec, body.stage4.sceneTimings)
    scenes = [
        Scene(sceneId=i, sceneTitle=s.sceneTitle, sceneType=scene_type(s), text=s.text, timeRange=r)
        for i, s, r in zip(ids, edited, ranges)
    ]
    storage.create_project(
        project_id,
        {
            storage.STEP_PROJECT: {"name": body.name, "createdAt": datetime.now(timezone.utc).isoformat()},
            storage.STEP_SCRIPT: {
                "editedScenes": [s.model_dump(exclude_none=True) | {"sceneId": i} for i, s in zip(ids, edited)],
                "script": "\n\n".join(s.text for s in edited),
            },
            # A key given here is in use at once (and dropped if its probe refuses it); a URL's
            # copy only once the media worker has fetched and probed it.
            storage.STEP_AUDIO: body.stage4.model_dump(exclude_none=True),
            storage.STEP_AVATAR: body.stage5.model_dump(exclude_none=True),
            storage.STEP_BROLL: {
                "scenes": [storage.scene_document(s) for s in scenes], "status": "in_progress",
                "timingsSource": "stage4" if timings_cover(ids, body.stage4.sceneTimings) else "words",
            } | media_jobs.initial_jobs(sources),
        },
        owner=owner,
    )
    media_jobs.start_imported(project_id, list(sources))
    return read_project(project_id, owner)


def read_project(project_id: str, owner: str) -> Project:
    return project_view(storage.load_project(project_id, owner=owner))


def list_summaries(owner: str) -> list[ProjectSummary]:
    """The owner's projects, the most recently changed first."""
    summaries = [summary(record) for record in storage.list_projects(owner)]
    return sorted(summaries, key=lambda s: s.updatedAt or "", reverse=True)


def edit_scene(project_id: str, scene_id_: str, edit: SceneEdit, owner: str) -> Scene:
    record = storage.load_broll(project_id, owner=owner)
    index, scene = record.scene(scene_id_)
    changes = edit.model_dump(exclude_none=True)
    if "aiPrompt" in changes:
        if plan.count_for(scene) > 1:
            raise Conflict("This scene is covered by several clips: edit each sub-shot's prompt in its plan.")
        # The person's own prompt is kept as written, whatever the style lock says later.
        changes |= {
            "promptSource": "person", "promptNote": None, "styleVersion": style.version(style.style_of(record.broll)),
        }
    if changes:
        storage.update_scene(project_id, index, scene_id_, changes, owner=owner)
    if "aiPrompt" in changes:
        history.record(project_id, scene_id_, "prompt", prompt=changes["aiPrompt"], promptSource="person",
                       shotInstructions=scene.shotInstructions or None)
    return scene_view(scene.model_copy(update=changes))


def generate_prompt(project_id: str, scene_id_: str, owner: str) -> Scene:
    record = storage.load_project(project_id, owner=owner)
    index, scene = record.scene(scene_id_)
    quota.admit_prompts(owner, plan.count_for(scene))
    if plan.count_for(scene) > 1:
        return _generate_plan_prompts(record, index, scene, owner)
    composed = style.compose(record, scene)
    changes = {"aiPrompt": composed.text, "promptSource": composed.source, "promptNote": composed.note}
    if scene.status != SceneStatus.COMPLETED:  # a clip keeps the style it was made in
        changes["styleVersion"] = style.version(style.style_of(record.broll))
    storage.update_scene(project_id, index, scene_id_, changes, owner=owner)
    history.record(project_id, scene_id_, "prompt", prompt=composed.text, promptSource=composed.source,
                   shotInstructions=scene.shotInstructions or None, note=composed.note)
    return scene_view(scene.model_copy(update=changes))


def _generate_plan_prompts(record: storage.ProjectRecord, index: int, scene: Scene, owner: str) -> Scene:
    """Every sub-shot's prompt written again; the plan's clips stay."""
    _not_generating(scene)
    shots = plan.prepared(record, scene, for_generation=False)
    changes = {"plan": plan.stored(shots)} | plan.next_prompt(shots)
    if scene.status != SceneStatus.COMPLETED:
        changes["styleVersion"] = style.version(style.style_of(record.broll))
    _write_plan(record.project_id, index, scene, changes, owner)
    for shot in shots:
        history.record(record.project_id, scene.sceneId, "prompt", prompt=shot.prompt, promptSource=shot.promptSource,
                       shotInstructions=scene.shotInstructions or None, note=shot.promptNote,
                       shot=shot.n, shots=len(shots))
    return scene_view(storage.with_changes(scene, changes))


def edit_plan(project_id: str, scene_id_: str, edit: PlanEdit, owner: str) -> Scene:
    """The person's plan for a scene: how many clips cover it, and their own sub-shot prompts.

    A new number applies at once to a scene without a clip; a scene with one keeps its clips
    (and the plan they were made with) until it is regenerated."""
    record = storage.load_broll(project_id, owner=owner)
    index, scene = record.scene(scene_id_)
    _not_generating(scene)
    changes: dict = {}
    if edit.count is not None and edit.count > plan.max_count(scene):
        raise InvalidInput(
            f"A sub-shot lasts at least {plan.MIN_SUB_SHOT_S:g} s: this {plan.duration(scene):.1f} s scene can be "
            f"covered by at most {plan.max_count(scene)} clip(s)."
        )
    if edit.auto or edit.count is not None:
        changes["shotCount"] = edit.count  # None removes it: back to the count from the length
    edited = storage.with_changes(scene, changes)
    shots = [shot.model_copy() for shot in edited.plan]
    cut_in_use = edited.status == SceneStatus.COMPLETED and plan.has_clips(edited)
    if not plan.fits(edited) and not cut_in_use:
        shots = plan.layout(edited, plan.count_for(edited))  # a clip made for another plan stays in history
        changes["plan"] = plan.stored(shots)
    if edit.prompts is not None:
        if not plan.fits(edited, shots) or len(edit.prompts) != len(shots):
            raise Conflict(
                f"This scene's plan has {len(shots) or 1} clip(s) now; give one prompt per sub-shot "
                "(regenerate first to use a new number of clips)."
            )
        for shot, text in zip(shots, edit.prompts):
            if text is not None and text.strip():
                shot.prompt, shot.promptSource, shot.promptNote = text.strip(), "person", None
        changes["plan"] = plan.stored(shots)
    if changes:
        _write_plan(project_id, index, scene, changes, owner)
    for shot, text in zip(shots, edit.prompts or []):
        if text is not None and text.strip():
            history.record(project_id, scene_id_, "prompt", prompt=shot.prompt, promptSource="person",
                           shot=shot.n, shots=len(shots))
    return scene_view(storage.with_changes(scene, changes))


def _not_generating(scene: Scene) -> None:
    if scene.status == SceneStatus.GENERATING:
        raise Conflict("This scene is generating: change its plan when it has finished, or cancel it first.")


def _write_plan(project_id: str, index: int, scene: Scene, changes: dict, owner: str) -> None:
    """A plan write, only if no generation started meanwhile (it would own the plan)."""
    try:
        storage.update_scene(
            project_id, index, scene.sceneId, changes, owner=owner, generation=scene.generation,
            status_in=(SceneStatus.IDLE.value, SceneStatus.COMPLETED.value, SceneStatus.FAILED.value),
        )
    except storage.StaleScene as exc:
        raise Conflict("This scene changed meanwhile (a generation started?). Reload and try again.") from exc


def complete_project(project_id: str, owner: str) -> Project:
    record = storage.load_project(project_id, owner=owner)
    with_clips = [s.sceneId for s in record.scenes if s.status == SceneStatus.COMPLETED]
    storage.update_broll(
        project_id,
        {
            "status": "completed",
            "completedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "scenesWithClips": with_clips,
        },
        owner=owner,
    )
    return read_project(project_id, owner)


def reopen_project(project_id: str, owner: str) -> Project:
    """Back to work on a completed project: its clips stay; completedAt stays as history."""
    record = storage.load_project(project_id, owner=owner)
    if record.broll.status != "completed":
        raise Conflict("This project is not completed, so there is nothing to reopen.")
    reopened_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    storage.update_broll(project_id, {"status": "in_progress", "reopenedAt": reopened_at}, owner=owner)
    return read_project(project_id, owner)


def render_status(project_id: str, owner: str) -> RenderView:
    """GET …/render: how the project's composite stands."""
    return render.view(storage.load_project(project_id, owner=owner))


def task_status(project_id: str, task_id: str, owner: str, scene_index: int | None = None) -> TaskStatus:
    """Where one task's scene stands. Given the scene's place (the page knows it), only that
    scene is read; without it, or when the task is no longer there, the whole step-7 item."""
    scene = storage.scene_at(project_id, scene_index, owner=owner)[1] if scene_index is not None else None
    if scene is None or scene.taskId != task_id:
        _, scene = storage.load_broll(project_id, owner=owner).scene_by_task(task_id)
    view = scene_view(scene)
    return TaskStatus(
        projectId=project_id, sceneId=scene.sceneId, taskId=task_id,
        status=view.status, progress=view.progress, videoUrl=view.videoUrl, error=view.error,
    )
