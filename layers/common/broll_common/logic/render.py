"""The composite video: the request that starts a render, the worker that makes it, and
how the API shows it.

A render is one asynchronous Lambda invocation per `generation` of step 7's `render`
map; the worker writes its outcome only if that generation is still current, so a
second request never lets two workers overwrite each other. A render of exactly the
same material (avatar, voice-over, the cut list the layout gives, the captions' settings
and text) is never made twice.

The engine checks its own output (duration, 9:16, sound, a frame per cut, loudness): a
composite that fails the check is marked failed with the check's sentences, and its
figures (`checks`) are shown either way.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from aws_lambda_powertools import Logger

from . import captions, layout
from ..dal import projects as storage
from ..clients.workers import get_workers
from ..dal.media import get_media
from ..models.errors import Conflict
from .media import presigned_url, project_folder
from .media_types import demuxer_for_key, key_extension
from ..models.api import RenderChecks, RenderView
from ..models.domain import LayoutSettings, RenderState, RenderStatus

logger = Logger(child=True)

# The one-run render keeps every clip's decoder open: about 360 MB plus 75 MB per cut at 1080p
# (bench/render.py). With the worker's 4096 MB, more cuts than this would run it out of memory,
# so such a render is refused with a sentence instead of dying half-way.
MAX_CUTS = 40

# A render still "rendering" after this is taken as lost (its worker died): it may start again.
RENDER_STALE_S = 20 * 60


def settings_of(record: storage.ProjectRecord) -> LayoutSettings:
    """The project's layout and caption settings (the defaults when none were saved)."""
    return record.broll.layout or LayoutSettings()


def caption_lines(record: storage.ProjectRecord) -> list[captions.CaptionLine]:
    """The captions' lines (none when captions are off)."""
    if not settings_of(record).captions.enabled:
        return []
    return captions.caption_lines(record.scenes, record.audio.wordTimings)


def _material(record: storage.ProjectRecord) -> dict:
    """Everything the composite is made of; its hash names the render."""
    settings = settings_of(record)
    return {
        "avatar": record.avatar.avatarVideoKey,
        "voiceover": record.audio.audioKey,
        # What the layout makes of the clips: each cut's range, clip and frame, in order.
        "cuts": [[c.start, c.end, c.clip_key, c.frame] for c in layout.cuts(record.scenes, settings)],
        "captions": settings.captions.model_dump(mode="json") | {
            "lines": captions.caption_text(caption_lines(record))} if settings.captions.enabled else None,
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
        poster = getattr(state, "posterKey", None)
        result.posterUrl = presigned_url(poster) if poster else None
    checks = getattr(state, "checks", None)
    if checks and status in (RenderStatus.COMPLETED, RenderStatus.FAILED):
        result.checks = RenderChecks.model_validate(checks)
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
    planned = len(layout.cuts(record.scenes, settings_of(record)))
    if planned > MAX_CUTS:
        raise Conflict(f"This layout cuts to B-roll {planned} times; one render takes at most {MAX_CUTS} cuts. "
                       "Put some scenes on the presenter, or use fewer sub-shots, and render again.")
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


def _checks(report) -> dict:
    return RenderChecks(
        durationSec=report.duration_s, width=report.width, height=report.height,
        loudnessLufs=report.loudness_lufs, truePeakDbtp=report.true_peak_dbtp, problems=list(report.problems),
    ).model_dump(mode="json")


def _output_size(record: storage.ProjectRecord, avatar: Path, demuxer: str) -> tuple[int, int]:
    """The composite's size (the captions are laid out at it): from the avatar's probe as stored,
    else probing the downloaded file."""
    from ..clients.frames import output_size
    from ..clients.probe import get_prober

    facts = record.broll.avatarMedia.probe if record.broll.avatarMedia else None
    if facts is not None and facts.width and facts.height and record.broll.avatarMedia.key in (
            None, record.avatar.avatarVideoKey):
        return output_size(facts.width, facts.height)
    info = get_prober().probe(avatar, demuxer)
    if not info.width or not info.height:
        raise ValueError("The avatar video has no picture.")
    return output_size(info.width, info.height)


def run(project_id: str, generation: int) -> None:
    """The worker: fetch the material to /tmp, cut the composite with ffmpeg, check it, store it."""
    from ..clients.composite import CompositeFailed, CutInput, render_composite  # only the worker needs ffmpeg
    from ..clients.probe import NotMedia
    from ..fonts import fonts_dir

    record = storage.load_project(project_id, owner=None)
    state = record.render
    if state.generation != generation or state.status != RenderStatus.RENDERING:
        return
    material, material_id = _material(record), material_hash(record)
    settings, lines = settings_of(record), caption_lines(record)
    media = get_media()
    folder_key = f"{project_folder(record.owner_id, project_id)}renders/{material_id}"
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
            local: dict[str, Path] = {}  # each clip downloaded once, whatever its number of cuts
            cuts = []
            for start_s, end_s, key, frame in material["cuts"]:
                if key not in local:
                    local[key] = folder / f"clip-{len(local):02d}.mp4"
                    media.download(key, str(local[key]))
                cuts.append(CutInput(start=start_s, end=end_s, clip=local[key], frame=frame))
            captions_ass = None
            if lines:
                width, height = _output_size(record, avatar, avatar_demuxer)
                captions_ass = folder / "captions.ass"
                document = captions.ass_document(lines, settings.captions, width, height)
                captions_ass.write_text(document, encoding="utf-8")
            poster = folder / "poster.jpg"
            # The composite lasts as long as the voice-over (the self-check holds it to 0.1 s).
            declared = record.audio.audioDurationSec
            expected = float(declared) if voiceover is not None and declared else None
            report = render_composite(
                avatar, voiceover, cuts, folder / "composite.mp4",
                voiceover_demuxer=voiceover_demuxer, avatar_demuxer=avatar_demuxer,
                captions_ass=captions_ass, fonts_dir=fonts_dir() if captions_ass else None,
                poster=poster, expected_duration_s=expected,
            )
            checks = _checks(report)
            if report.problems:
                logger.warning("render failed its self-check", extra={"projectId": project_id, "checks": checks})
                _finish(project_id, generation, {
                    "status": RenderStatus.FAILED.value, "checks": checks,
                    "error": "The composite failed its own check: " + " ".join(_sentence(p) for p in report.problems),
                })
                return
            key = f"{folder_key}.mp4"
            media.upload_file(str(folder / "composite.mp4"), key, "video/mp4")
            poster_key = None
            if poster.is_file() and poster.stat().st_size:
                poster_key = f"{folder_key}.jpg"
                media.upload_file(str(poster), poster_key, "image/jpeg")
    except (CompositeFailed, NotMedia, ValueError) as exc:
        logger.warning("render failed", extra={"projectId": project_id, "error": str(exc)[:2000]})
        _finish(project_id, generation, {"status": RenderStatus.FAILED.value, "error": f"The composite could not be made: {_first_line(exc)}"})
        return
    except Exception:  # noqa: BLE001 - recorded for the person; a Lambda retry would only repeat it
        logger.exception("render failed", extra={"projectId": project_id})
        _finish(project_id, generation, {"status": RenderStatus.FAILED.value, "error": "The composite could not be made. Try again."})
        return
    completed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    outcome = {"status": RenderStatus.COMPLETED.value, "key": key, "material": material_id, "completedAt": completed_at,
               "checks": checks, "posterKey": poster_key}
    _finish(project_id, generation, outcome)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or ["unknown error"])[0][:300]
