"""Download All: one ZIP of the project's material in the media bucket, rebuilt only on change.

API Gateway ends a request at 30 s, and fetching and packing every clip can take longer, so
the ZIP is made by a worker Lambda invoked asynchronously. `GET …/download` (request) answers
the ZIP's URL at once when a ZIP of the project's current content exists; otherwise it starts
a build, or joins the one under way, and answers "building", and the caller asks again. As
with the composite (render.py), every build is a `generation` of step 7's `export` map,
written conditionally: the worker (run) writes its outcome only while its generation is
current, so a newer build is never overwritten by an older one. A failed build is answered
once as "failed" with a plain sentence; asking again starts a new one.

The archive is written to /tmp by streaming each S3 object into it in chunks, then
uploaded; memory stays bounded whatever the number and size of the clips.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from datetime import datetime, timezone

from aws_lambda_powertools import Logger

from . import captions, plan
from ..dal import projects as storage
from ..clients.workers import get_workers
from ..dal.media import ObjectMissing, get_media
from .media import presigned_url, project_folder
from ..models.api import DownloadView
from ..models.domain import DownloadStatus, ExportState
from .render import caption_lines, current_composite_key, settings_of

logger = Logger(child=True)

CHUNK = 1024 * 1024
CAPTIONS_ASS, CAPTIONS_SRT = "captions.ass", "captions.srt"
AI_DISCLOSURE = "Clips marked aiGenerated are AI-generated video (Google Veo 3 via Kie.ai), not recorded footage."


def _slug(text: str, default: str = "scene") -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80].strip("-") or default


def friendly_name(record: storage.ProjectRecord) -> str:
    """The project's files are named after it: `night-trains-are-back-in-europe`."""
    return _slug(record.name, default=_slug(record.project_id, default="project"))


def generated(record: storage.ProjectRecord) -> list[tuple[str, str]]:
    """The files the archive writes from the project itself: the captions when they are on (the
    .ass at the composite's size when there is one, else 1080x1920; libass scales it)."""
    settings = settings_of(record).captions
    if not settings.enabled:
        return []
    lines = caption_lines(record)
    checks = getattr(record.render, "checks", None) or {}
    width, height = (checks.get("width"), checks.get("height")) if current_composite_key(record) else (None, None)
    ass = captions.ass_document(lines, settings, width or 1080, height or 1920)
    return [(CAPTIONS_ASS, ass), (CAPTIONS_SRT, captions.srt_document(lines))]


def manifest(record: storage.ProjectRecord) -> tuple[dict, list[tuple[str, str]]]:
    """What goes in the archive: timeline.json's content and (archive name, S3 key) pairs."""
    files: list[tuple[str, str]] = []
    scenes = []
    for number, scene in enumerate(record.scenes, start=1):
        name = f"{number:02d}-{_slug(scene.sceneTitle)}"
        cut = plan.segments(scene)
        clips = []
        for part, (start, end, key) in enumerate(cut, start=1):
            # A scene covered by sub-shots gets one file per sub-shot, numbered in order.
            clip = f"{name}-{part}.mp4" if len(cut) > 1 else f"{name}.mp4"
            files.append((clip, key))
            clips.append({"file": clip, "start": start, "end": end, "aiGenerated": True})
        scenes.append(
            {
                "order": number,
                "sceneId": scene.sceneId,
                "sceneTitle": scene.sceneTitle,
                "timeRange": scene.timeRange.model_dump(),
                "text": scene.text,
                "shotInstructions": scene.shotInstructions,
                "aiPrompt": scene.aiPrompt,
                "clip": clips[0]["file"] if clips else None,
                "clips": clips,
                "subShots": [
                    {"n": s.n, "start": s.start, "end": s.end, "prompt": s.prompt} for s in scene.plan
                ] if len(cut) > 1 else [],
                "aiGenerated": bool(clips),
                "taskId": scene.taskId if clips else None,
            }
        )
    # The order: the voice-over, the avatar video, then the clips in timeline order.
    media = [
        ("voiceover" + os.path.splitext(record.audio.audioKey or ".m4a")[1], record.audio.audioKey),
        ("avatar" + os.path.splitext(record.avatar.avatarVideoKey or ".mp4")[1], record.avatar.avatarVideoKey),
    ]
    files = [(name, key) for name, key in media if key] + files
    composite = current_composite_key(record)
    composite_name = f"{friendly_name(record)}.mp4"
    if composite:
        files.append((composite_name, composite))
    timeline = {
        "projectId": record.project_id,
        "name": record.name,
        "audioDurationSec": record.audio.audioDurationSec,
        # The avatar with every clip cut in: present once rendered from exactly these clips.
        "composite": composite_name if composite else None,
        "captions": [name for name, _ in generated(record)],
        # Disclosure travels with the footage: every clip marked aiGenerated (and a composite
        # that contains any) is AI-generated video.
        "aiDisclosure": AI_DISCLOSURE,
        "scenes": scenes,
    }
    return timeline, files


def export_key(record: storage.ProjectRecord) -> tuple[str, dict, list[tuple[str, str]]]:
    timeline, files = manifest(record)
    script = record.script.script
    digest = hashlib.sha256(
        json.dumps([timeline, files, script, generated(record)], sort_keys=True).encode()).hexdigest()[:16]
    return f"{project_folder(record.owner_id, record.project_id)}exports/{digest}.zip", timeline, files


# A build still "building" after this was lost (its worker died, or stopped at its 300 s
# timeout without writing): it is answered as failed, and asking again starts a new one.
EXPORT_STALE_S = 6 * 60
LOST = "The ZIP was not finished in time. Try Download All again."


class MissingMaterial(Exception):
    """A file the archive lists is not in the media bucket."""


def build_archive(record: storage.ProjectRecord, timeline: dict, files: list[tuple[str, str]], target) -> None:
    media = get_media()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("script.txt", record.script.script + "\n")
        archive.writestr("timeline.json", json.dumps(timeline, indent=2, ensure_ascii=False))
        for name, text in generated(record):
            archive.writestr(name, text)
        for name, key in files:
            try:
                body = media.open(key)
            except ObjectMissing as exc:
                raise MissingMaterial(name) from exc
            # Videos do not compress: store them, and copy in chunks.
            with archive.open(zipfile.ZipInfo(name), "w") as entry:
                shutil.copyfileobj(body, entry, CHUNK)


def _ready(key: str, record: storage.ProjectRecord) -> DownloadView:
    return DownloadView(status=DownloadStatus.READY, url=presigned_url(key, f"{friendly_name(record)}.zip"))


def _view(state: ExportState, now: float) -> DownloadView:
    """How a build under way, or failed, stands (step 7's `export` map)."""
    if state.status == "failed":
        return DownloadView(status=DownloadStatus.FAILED, error=state.error)
    return DownloadView(
        status=DownloadStatus.BUILDING, progress=state.progress(now),
        startedAt=datetime.fromtimestamp(state.startedAt or now, timezone.utc).isoformat(timespec="seconds"),
    )


def request(project_id: str, owner: str) -> DownloadView:
    """GET …/download: the ZIP of the current content (ready), or its build (building, or a
    failure not yet answered)."""
    record = storage.load_project(project_id, owner=owner)
    key, _, files = export_key(record)
    state = record.export
    now = time.time()
    if get_media().exists(key):
        return _ready(key, record)  # already made of exactly this content: no build
    status = state.status
    if state.key == key and status in ("building", "failed") and not state.reported:
        if status == "building" and now - state.startedAt < EXPORT_STALE_S:
            return _view(state, now)  # under way: join it
        # Failed (or lost): said once, so the poll that waited for it stops; the next request
        # builds it again.
        said = state.stored() | {"reported": True} | ({"status": "failed", "error": LOST} if status == "building" else {})
        try:
            storage.replace_part(project_id, "export", said, owner=owner,
                                 expect={"generation": state.generation, "status": status})
        except storage.StaleScene:
            pass  # another request answered it (or started again) meanwhile
        return _view(ExportState.model_validate(said), now)
    return _start(project_id, owner, state, key, len(files), now)


def _start(project_id: str, owner: str, state: ExportState, key: str, file_count: int, now: float) -> DownloadView:
    generation = int(state.generation) + 1
    started = {
        "status": "building", "generation": generation, "key": key, "startedAt": now,
        "expectedSeconds": 5 + 2 * file_count,
    }
    try:
        storage.replace_part(project_id, "export", started, owner=owner, expect=state.write_guard())
    except storage.StaleScene:
        # Another request started a build meanwhile: join it (anything else: ask again).
        current = storage.load_broll(project_id, owner=owner).export
        return _view(current if current.status == "building" else ExportState.model_validate(started), now)
    try:
        get_workers().start_export(project_id, generation)
    except Exception:  # noqa: BLE001 - the person sees it and can ask again
        logger.exception("could not start the export worker", extra={"projectId": project_id})
        failed = started | {"status": "failed", "error": "The ZIP could not be started. Try Download All again.",
                            "reported": True}
        _finish(project_id, generation, failed)
        return _view(ExportState.model_validate(failed), now)
    return _view(ExportState.model_validate(started), now)


def _finish(project_id: str, generation: int, state: dict) -> None:
    """Write a build's outcome, only while that build is still the current one."""
    try:
        storage.replace_part(project_id, "export", state, owner=None, expect={"generation": generation})
    except storage.StaleScene:
        logger.info("export outcome for a superseded build ignored", extra={"projectId": project_id})


def run(project_id: str, generation: int) -> None:
    """The worker: stream every file into a ZIP in /tmp, upload it, record the outcome."""
    record = storage.load_project(project_id, owner=None)
    state = record.export
    if state.generation != generation or state.status != "building":
        return  # superseded, or already settled
    # The content now (it may have changed since the request): the archive is named by it.
    key, timeline, files = export_key(record)
    try:
        with tempfile.TemporaryFile() as spool:
            build_archive(record, timeline, files, spool)
            spool.seek(0)
            get_media().upload_stream(spool, key, "application/zip")
    except MissingMaterial as exc:
        logger.warning("export failed: a file is missing", extra={"projectId": project_id, "file": str(exc)})
        _finish(project_id, generation, state.stored() | {
            "status": "failed", "error": f"The ZIP could not be made: {exc} is missing from storage."})
        return
    except Exception:  # noqa: BLE001 - recorded for the person; a Lambda retry would only repeat it
        logger.exception("export failed", extra={"projectId": project_id})
        _finish(project_id, generation, state.stored() | {
            "status": "failed", "error": "The ZIP could not be made. Try Download All again."})
        return
    completed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _finish(project_id, generation, state.stored() | {"status": "completed", "key": key, "completedAt": completed_at})
