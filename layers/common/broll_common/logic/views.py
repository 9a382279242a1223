"""Views: the domain as the API shows it (the page's read model). A scene gets our presigned clip
URLs, a progress estimate, its AI-generated and out-of-date flags and its plan; a project gets
its media URLs, render (with its self-check's figures), schedule, style, layout, what its clips
cost (the ledger) and, for a system-key user, the daily quota left."""

from __future__ import annotations

import math
import time

from . import ledger, plan, quota, render, style
from ..config import settings
from ..dal import projects as storage
from .media import media_url
from ..models.api import AudioInfo, MediaView, Project, ProjectSummary, ScheduleView, Step7, VideoInfo
from ..models.domain import BrollPart, MediaState, MediaStatus, Scene, SceneStatus, SubShot


# What a scene waiting for Kie says (KieWait.reason); the page and the CLI add when Kie went
# down, in the person's own time.
WAITING_NOTES = {
    "kie_down": "Waiting for Kie.ai; it starts by itself, nothing charged yet.",
    "rate_limited": "Waiting for a free Kie.ai slot; it starts by itself, nothing charged yet.",
    "busy": "Waiting for a free Kie.ai slot; it starts by itself, nothing charged yet.",
}


def scene_view(scene: Scene, now: float | None = None, style_version: str | None = None) -> Scene:
    """The scene as the API shows it: our presigned clip URLs, progress estimated from time,
    the AI-generated flag of its clip, (given the project's style) whether it predates it,
    its plan (the sub-shots it has, or those its next generation would make), why it waits
    for Kie, if it does, and how many of its cancelled clips Kie is still making."""
    view = scene.model_copy()
    view.videoUrl = media_url(scene.videoKey) if scene.status == SceneStatus.COMPLETED else None
    view.aiGenerated = view.videoUrl is not None
    if style_version is not None and scene.status == SceneStatus.COMPLETED:
        view.outOfDate = style.is_out_of_date(scene, style_version)
    view.plannedShots = plan.count_for(scene)
    view.autoShots, view.maxShots = plan.auto_count(plan.duration(scene)), plan.max_count(scene)
    view.plan = _plan_view(scene)
    # A wait left on a scene that moved on (cancelled, failed at the deadline) is not shown.
    view.waiting = scene.waiting if scene.status == SceneStatus.GENERATING else None
    view.statusNote = WAITING_NOTES[view.waiting.reason] if view.waiting else None
    view.lateClips = len(scene.lateTasks)
    if scene.status == SceneStatus.GENERATING and scene.startedAt and not view.waiting:
        # Kie reports no percentage for Veo: estimate from elapsed time, never claiming 100
        # (a scene waiting for Kie has not started: no progress).
        elapsed = (now or time.time()) - scene.startedAt
        clip = min(0.95, elapsed / settings().expected_generation_s)
        done = plan.current(scene) or 0  # sub-shots finished before this one
        view.progress = max(1, min(95, int(100 * (done + clip) / max(1, len(scene.plan)))))
    return view


def _plan_view(scene: Scene) -> list[SubShot]:
    shots = [shot.model_copy() for shot in scene.plan] or plan.layout(scene, plan.count_for(scene))
    making = plan.current(scene) if scene.status == SceneStatus.GENERATING else None
    for index, shot in enumerate(shots):
        shot.videoUrl = media_url(shot.videoKey)
        shot.status = "ready" if shot.videoKey else "generating" if index == making else "waiting"
    return shots


def project_view(record: storage.ProjectRecord) -> Project:
    now = time.time()
    broll = record.broll
    project_style = style.style_of(broll)
    current_style = style.version(project_style)
    return Project(
        projectId=record.project_id,
        name=record.name,
        script=record.script.script,
        audio=AudioInfo(
            url=media_url(record.audio.audioKey),
            durationSec=float(record.audio.audioDurationSec or 0),
            media=media_view(broll.voiceoverMedia, declared=float(record.audio.audioDurationSec or 0)),
        ),
        avatarVideo=VideoInfo(url=media_url(record.avatar.avatarVideoKey), media=media_view(broll.avatarMedia)),
        scenes=[scene_view(s, now, current_style) for s in record.scenes],
        step7=Step7(
            status=broll.status,
            completedAt=broll.completedAt,
            reopenedAt=broll.reopenedAt,
            scenesWithClips=broll.scenesWithClips,
        ),
        render=render.view(record, now),
        schedule=ScheduleView(**broll.schedule.stored()) if broll.schedule and broll.schedule.stored() else None,
        style=project_style,
        timingsSource=broll.timingsSource or "words",
        layout=render.settings_of(record),
        spend=ledger.project_spend(record.project_id),
        quota=quota.left(record.owner_id) if record.owner_id else None,
    )


# A voice-over this much longer or shorter than the project says is flagged (a frame or two of
# encoder padding is not).
DURATION_MISMATCH_S = 0.5


def media_view(state: MediaState | None, declared: float | None = None) -> MediaView | None:
    if state is None:
        return None
    facts = state.probe if state.status == MediaStatus.READY else None
    view = MediaView(status=state.status.value, error=state.error, source=state.source, sourceUrl=state.sourceUrl,
                     sizeBytes=state.sizeBytes,
                     canRetry=state.status == MediaStatus.FAILED and bool(state.sourceUrl if state.source == "url" else state.key))
    if facts:
        view.durationSec, view.width, view.height = float(facts.durationSec), facts.width, facts.height
        view.hasAudio, view.hasVideo = facts.hasAudio, facts.hasVideo
        if facts.width and facts.height:
            divisor = math.gcd(facts.width, facts.height)
            view.aspect = f"{facts.width // divisor}:{facts.height // divisor}"
        if declared and abs(facts.durationSec - declared) > DURATION_MISMATCH_S:
            view.durationMismatchSec = round(float(facts.durationSec) - declared, 2)
    return view


def media_summary(broll: BrollPart, keys: tuple[str | None, str | None]) -> str:
    """One word for the project list: ready, fetching (or checking), failed, or missing."""
    states = [broll.voiceoverMedia, broll.avatarMedia]
    if any(s and s.status == MediaStatus.FAILED for s in states):
        return "failed"
    if any(s and s.status in (MediaStatus.FETCHING, MediaStatus.PROBING) for s in states):
        return "fetching"
    return "ready" if all(keys) else "missing"


def summary(record: storage.ProjectRecord) -> ProjectSummary:
    scenes = record.scenes
    ready = [s for s in scenes if s.status == SceneStatus.COMPLETED and (s.videoKey or plan.has_clips(s))]
    first_clip = next((key for s in ready for _, _, key in plan.segments(s)), None)
    thumbnail = first_clip or record.avatar.avatarVideoKey
    return ProjectSummary(
        projectId=record.project_id, name=record.name, step7Status=record.broll.status,
        sceneCount=len(scenes), clipsReady=len(ready), updatedAt=record.broll.updatedAt,
        thumbnailUrl=media_url(thumbnail),
        media=media_summary(record.broll, (record.audio.audioKey, record.avatar.avatarVideoKey)),
    )
