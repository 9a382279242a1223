"""The composite video: the request that starts a render, the worker that makes it, and
how the API shows it.

A render is one asynchronous Lambda invocation per `generation` of step 7's `render`
map; the worker writes its outcome only if that generation is still current, so a
second request never lets two workers overwrite each other. A render of exactly the
same material (avatar, voice-over, every clip and its time range) is never made twice.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from aws_lambda_powertools import Logger

from . import plan
from ..dal import projects as storage
from ..clients.workers import get_workers
from ..dal.media import get_media
from ..models.errors import Conflict
from .media import presigned_url, project_folder
from .media_types import demuxer_for_key, key_extension
from ..models.api import RenderView
from ..models.domain import RenderState, RenderStatus

logger = Logger(child=True)

# A render still "rendering" after this is taken as lost (its worker died): it may start again.
RENDER_STALE_S = 20 * 60


def _material(record: storage.ProjectRecord) -> dict:
    """Everything the composite is made of; its hash names the render."""
    return {
        "avatar": record.avatar.avatarVideoKey,
        "voiceover": record.audio.audioKey,
        # A scene covered by several sub-shots contributes each over its own part, in order.
        "clips": [list(segment) for s in record.scenes for segment in plan.segments(s)],
    }


def material_hash(record: storage.ProjectRecord) -> str:
    return hashlib.sha256(json.dumps(_material(record), sort_keys=True).encode()).hexdigest()[:16]


def view(record: storage.ProjectRecord, now: float | None = None) -> RenderView:
    state = record.render
    status = state.status
    result = RenderView(status=status, error=state.error, completedAt=state.completedAt)
    if state.startedAt:
        result.startedAt = datetime.fromtimestamp(state.startedAt, timezone.utc).isoformat(timespec="seconds")
    if status == RenderStatus.RENDERING:
        result.progress = state.progress(now or time.time())
    elif status == RenderStatus.COMPLETED:
        result.progress = 100
        result.videoUrl = presigned_url(state.key)
        result.outOfDate = state.material != material_hash(record)
    return result


def current_composite_key(record: storage.ProjectRecord) -> str | None:
    """Our composite of exactly the project's current material, if one was made."""
    state = record.render
    if state.status == RenderStatus.COMPLETED and state.material == material_hash(record):
        return state.key
    return None


def start(project_id: str, owner: str) -> RenderView:
    record = storage.load_project(project_id, owner=owner)
    if not record.avatar.avatarVideoKey:
        raise Conflict("This project has no avatar video to cut the clips into, so there is nothing to render.")
    state = record.render
    material = material_hash(record)
    running = state.status == RenderStatus.RENDERING and time.time() - state.startedAt < RENDER_STALE_S
    if running or current_composite_key(record):
        return view(record)  # already under way, or already made of exactly this material
    generation = int(state.generation) + 1
    audio_seconds = float(record.audio.audioDurationSec or 30)
    started = {
        "status": RenderStatus.RENDERING.value, "generation": generation, "material": material,
        "startedAt": time.time(), "expectedSeconds": 10 + audio_seconds,
    }
    try:
        storage.replace_part(project_id, "render", started, owner=owner, expect=state.write_guard())
    except storage.StaleScene:
        return view(storage.load_project(project_id, owner=owner))  # another request started it
    try:
        get_workers().start_render(project_id, generation)
    except Exception:  # noqa: BLE001 - the person sees it and can press Render again
        logger.exception("could not start the render worker", extra={"projectId": project_id})
        failed = {"status": RenderStatus.FAILED.value, "error": "The render could not start. Try again."}
        _finish(project_id, generation, failed)
        started |= failed
    record.broll.render = RenderState.model_validate(started)  # what was just written: no need to read the project again
    return view(record)


def _finish(project_id: str, generation: int, outcome: dict) -> None:
    record = storage.load_broll(project_id, owner=None)
    state = record.render
    if state.generation != generation:
        return  # a newer render took over
    try:
        storage.replace_part(project_id, "render", state.stored() | outcome, owner=None, expect={"generation": generation})
    except storage.StaleScene:
        logger.info("render outcome for a superseded generation ignored", extra={"projectId": project_id})


def run(project_id: str, generation: int) -> None:
    """The worker: fetch the material to /tmp, cut the composite with ffmpeg, store it."""
    from ..clients.composite import CompositeFailed, Segment, render_composite  # only the worker needs ffmpeg

    record = storage.load_project(project_id, owner=None)
    state = record.render
    if state.generation != generation or state.status != RenderStatus.RENDERING:
        return
    material, material_id = _material(record), material_hash(record)
    media = get_media()
    try:
        with tempfile.TemporaryDirectory(prefix="render-") as work:
            folder = Path(work)
            # The avatar's and voice-over's types come from the allowlist, before anything is downloaded:
            # a key off it (.m3u8, ...) fails the render, and ffmpeg is told the demuxer, never guesses it.
            voiceover = voiceover_demuxer = None
            if material["voiceover"]:
                voiceover_demuxer = demuxer_for_key(material["voiceover"])
                voiceover = folder / f"voiceover.{key_extension(material['voiceover'])}"
            avatar_demuxer = demuxer_for_key(material["avatar"])
            avatar = folder / f"avatar.{key_extension(material['avatar'])}"
            media.download(material["avatar"], str(avatar))
            if voiceover is not None:
                media.download(material["voiceover"], str(voiceover))
            segments = []
            for number, (start_s, end_s, key) in enumerate(material["clips"]):
                clip = folder / f"clip-{number:02d}.mp4"
                media.download(key, str(clip))
                segments.append(Segment(start=start_s, end=end_s, clip=clip))
            out = render_composite(avatar, voiceover, segments, folder / "composite.mp4",
                                   voiceover_demuxer=voiceover_demuxer, avatar_demuxer=avatar_demuxer)
            key = f"{project_folder(record.owner_id, project_id)}renders/{material_id}.mp4"
            media.upload_file(str(out), key, "video/mp4")
    except (CompositeFailed, ValueError) as exc:
        logger.warning("render failed", extra={"projectId": project_id, "error": str(exc)[:2000]})
        _finish(project_id, generation, {"status": RenderStatus.FAILED.value, "error": f"The composite could not be made: {_first_line(exc)}"})
        return
    except Exception:  # noqa: BLE001 - recorded for the person; a Lambda retry would only repeat it
        logger.exception("render failed", extra={"projectId": project_id})
        _finish(project_id, generation, {"status": RenderStatus.FAILED.value, "error": "The composite could not be made. Try again."})
        return
    completed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    outcome = {"status": RenderStatus.COMPLETED.value, "key": key, "material": material_id, "completedAt": completed_at}
    _finish(project_id, generation, outcome)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or ["unknown error"])[0][:300]
