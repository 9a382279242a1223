"""The voice-over and the avatar video the person brings: an upload form, a URL to fetch, and
the media worker that fetches, probes and stores them.

Each kind has one job map in step 7 (`voiceoverMedia` / `avatarMedia`), one fetch-or-probe
per generation like a render: a newer request supersedes an older one, and the worker writes
its outcome only if its generation is still current. A file is in use (step 4's `audioKey`,
step 5's `avatarVideoKey`) only once the probe found what the kind needs; a refused file is
deleted, so nothing unusable is ever stored or handed out.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from ..clients.fetch import FetchRefused, get_fetcher
from ..clients.probe import NotMedia, get_prober
from ..clients.workers import get_workers
from ..config import settings
from ..dal import projects as storage
from ..dal.media import get_media
from ..models.api import MediaSource, UploadForm, UploadRequest
from ..models.domain import MediaState, MediaStatus
from ..models.errors import Conflict, InvalidInput
from ..observability import emit
from . import media_types
from .media import in_folder, project_folder

logger = Logger(child=True)

# A fetch or probe still running after this was lost (its worker died): it may start again.
MEDIA_STALE_S = 15 * 60


@dataclass(frozen=True)
class Kind:
    name: str  # voiceover | avatar
    label: str  # as the person reads it
    part: str  # step 7's job map
    step: int  # the step whose key says which file is in use
    key_field: str
    needs: str  # the stream the file must have: audio | video


KINDS = {
    "voiceover": Kind("voiceover", "voice-over", "voiceoverMedia", storage.STEP_AUDIO, "audioKey", "audio"),
    "avatar": Kind("avatar", "avatar video", "avatarMedia", storage.STEP_AVATAR, "avatarVideoKey", "video"),
}


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def new_key(owner: str, project_id: str, kind: Kind, extension: str) -> str:
    return f"{project_folder(owner, project_id)}media/{kind.name}-{uuid.uuid4().hex[:12]}.{extension}"


def upload_form(project_id: str, request: UploadRequest, owner: str) -> UploadForm:
    """A presigned POST for one file of this kind: S3 refuses any other key, type or size."""
    storage.load_broll(project_id, owner=owner)  # 404 for a project that is not the caller's
    kind = KINDS[request.kind]
    extension = media_types.known_extension(kind.name, request.contentType)
    if extension is None:
        raise InvalidInput(f"The {kind.label} must be {media_types.described(kind.name)}; this file is {request.contentType}.")
    cap = settings().media_max_bytes
    if request.size > cap:
        raise InvalidInput(f"This file is {_megabytes(request.size)}; the {kind.label} may be at most {_megabytes(cap)}.")
    key = new_key(owner, project_id, kind, extension)
    form = get_media().presigned_post(key, request.contentType, cap)
    return UploadForm(url=form["url"], fields=form["fields"], key=key, maxBytes=cap)


def job_for(kind: Kind, source: MediaSource, owner: str, project_id: str, field: str) -> dict:
    """The job map a new source starts (before its generation is set), checked now: nothing is
    stored for a source the worker would refuse anyway. Refusals name `field`."""
    if source.url:
        try:
            get_fetcher().check(source.url)
        except FetchRefused as exc:
            raise InvalidInput(f"{field}: {exc.message}") from exc
        return {"status": MediaStatus.FETCHING.value, "source": "url", "sourceUrl": source.url}
    key = source.key or ""
    if not in_folder(key, owner, project_id):
        raise InvalidInput(f"{field}: the {kind.label} must be a file in this project's folder "
                           f"({project_folder(owner, project_id)}...).")
    try:
        media_types.demuxer_for_key(key)
    except ValueError as exc:
        raise InvalidInput(f"{field}: the {kind.label} file's name must end in {media_types.described(kind.name)}.") from exc
    if not get_media().exists(key):
        raise InvalidInput(f"{field}: no {kind.label} was uploaded under that key (the upload may have failed). Upload it again.")
    return {"status": MediaStatus.PROBING.value, "source": "upload", "key": key}


def _running(state: MediaState | None, now: float) -> bool:
    return bool(state) and state.status in (MediaStatus.FETCHING, MediaStatus.PROBING) and now - state.startedAt < MEDIA_STALE_S


def start(project_id: str, kind_name: str, source: MediaSource, owner: str) -> None:
    """Take a new file (an upload's key or a URL), or try the last one again (neither given)."""
    kind = KINDS[kind_name]
    record = storage.load_broll(project_id, owner=owner)
    state: MediaState | None = getattr(record.broll, kind.part)
    if not (source.key or source.url):
        if state is None or state.status != MediaStatus.FAILED:
            raise Conflict(f"The {kind.label} has not failed, so there is nothing to try again.")
        if state.source == "url" and state.sourceUrl:
            job = {"status": MediaStatus.FETCHING.value, "source": "url", "sourceUrl": state.sourceUrl}
        elif state.key and get_media().exists(state.key):  # the worker failed, not the file
            job = {"status": MediaStatus.PROBING.value, "source": "upload", "key": state.key}
        else:
            raise Conflict(f"The refused {kind.label} was not kept, so there is nothing to try again: upload the file again.")
    else:
        job = job_for(kind, source, owner, project_id, "url" if source.url else "key")
    begin(project_id, kind, job, state, owner)


def begin(project_id: str, kind: Kind, job: dict, state: MediaState | None, owner: str | None) -> None:
    """Write the job as the next generation and start its worker (a failed start is shown)."""
    generation = (state.generation if state else 0) + 1
    job = job | {"generation": generation, "startedAt": time.time()}
    expect = state.write_guard() if state else {}
    try:
        storage.replace_part(project_id, kind.part, job, owner=owner, expect=expect)
    except storage.StaleScene as exc:
        raise Conflict(f"The {kind.label} changed meanwhile. Reload and try again.") from exc
    _start_worker(project_id, kind, generation)


def initial_jobs(sources: dict[str, dict]) -> dict[str, dict]:
    """Step 7's job maps for the sources given at import: {part: job} (started once stored)."""
    return {KINDS[name].part: job | {"generation": 1, "startedAt": time.time()} for name, job in sources.items()}


def start_imported(project_id: str, kinds: list[str]) -> None:
    for name in kinds:
        _start_worker(project_id, KINDS[name], 1)


def _start_worker(project_id: str, kind: Kind, generation: int) -> None:
    """Invoke the media worker for this generation; a failed start is shown (the person can Retry)."""
    try:
        get_workers().start_media(project_id, kind.name, generation)
    except Exception:  # noqa: BLE001 - shown as failed, with Retry
        logger.exception("could not start the media worker", extra={"projectId": project_id, "kind": kind.name})
        _finish(project_id, kind, generation, {"status": MediaStatus.FAILED.value,
                                               "error": f"Checking the {kind.label} could not start. Try again."})


def _finish(project_id: str, kind: Kind, generation: int, outcome: dict, in_use: dict | None = None) -> bool:
    """Write the outcome (and, given, the file now in use) if this generation is still the
    current one; whether it was."""
    state: MediaState | None = getattr(storage.load_broll(project_id, owner=None).broll, kind.part)
    if state is None or state.generation != generation:
        return False
    value = state.stored() | outcome
    try:
        if in_use is None:
            storage.replace_part(project_id, kind.part, value, owner=None, expect={"generation": generation})
        else:
            storage.replace_part_with_step(project_id, kind.part, value, generation=generation, step=kind.step,
                                           changes=in_use)
        return True
    except storage.StaleScene:
        logger.info("media outcome for a superseded generation ignored", extra={"projectId": project_id})
        return False


def run(project_id: str, kind_name: str, generation: int) -> None:
    """The media worker: fetch (a URL) or download (an upload) to /tmp, probe, keep or refuse."""
    kind = KINDS[kind_name]
    record = storage.load_project(project_id, owner=None)
    state: MediaState | None = getattr(record.broll, kind.part)
    if state is None or state.generation != generation or state.status not in (MediaStatus.FETCHING, MediaStatus.PROBING):
        return
    media = get_media()
    in_use = getattr(record.audio if kind.step == storage.STEP_AUDIO else record.avatar, kind.key_field)
    fetched = state.status == MediaStatus.FETCHING
    try:
        with tempfile.TemporaryDirectory(prefix="media-") as work:
            if fetched:
                path, key, size = _fetched(Path(work), record.owner_id, project_id, kind, state.sourceUrl or "")
            else:
                key = state.key or ""
                path = Path(work) / f"{kind.name}.{key.rsplit('.', 1)[-1]}"  # a fixed name, an allowlisted extension
                media_types.demuxer_for_key(key)  # refused before anything is downloaded
                media.download(key, str(path))
                size = path.stat().st_size
            facts = _probed(kind, path, media_types.demuxer_for_key(key))
            if fetched:
                media.upload_file(str(path), key, media_types.content_type_for_key(key))
    except (FetchRefused, NotMedia) as exc:
        emit("MediaRefused", MetricUnit.Count, 1, Kind=kind.name)
        refused = None if fetched else state.key
        failed = {"status": MediaStatus.FAILED.value, "error": exc.message} | ({"key": None} if refused else {})
        if _finish(project_id, kind, generation, failed, {kind.key_field: None} if refused and refused == in_use else None):
            if refused:
                media.delete(refused)  # a refused upload is not kept
        return
    except Exception:  # noqa: BLE001 - shown as failed, with Retry; the details are logged
        logger.exception("media worker failed", extra={"projectId": project_id, "kind": kind.name})
        _finish(project_id, kind, generation, {"status": MediaStatus.FAILED.value,
                                               "error": f"The {kind.label} could not be checked. Try again."})
        return
    ready = {
        "status": MediaStatus.READY.value, "key": key, "sizeBytes": size, "probe": facts, "error": None,
        "completedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if not _finish(project_id, kind, generation, ready, {kind.key_field: key}):
        if fetched:
            media.delete(key)  # superseded meanwhile: the newer job owns the slot
        return
    emit("MediaReady", MetricUnit.Count, 1, Kind=kind.name)
    if in_use and in_use != key and in_folder(in_use, record.owner_id or "", project_id):
        media.delete(in_use)  # the file this one replaced


def _fetched(work: Path, owner: str | None, project_id: str, kind: Kind, url: str) -> tuple[Path, str, int]:
    download = work / "download"
    fetched = get_fetcher().fetch_to_file(
        url, download, max_bytes=settings().media_max_bytes, content_types=media_types.content_type_prefixes(kind.name),
    )
    extension = media_types.known_extension(kind.name, fetched.content_type) or media_types.extension_in_url(kind.name, fetched.final_url)
    if extension is None:
        raise NotMedia(f"The address did not say what kind of file it is ({fetched.content_type or 'no type'}), "
                       f"and its name does not end in {media_types.described(kind.name)}.")
    path = work / f"{kind.name}.{extension}"
    download.rename(path)
    return path, new_key(owner, project_id, kind, extension), fetched.size


def _probed(kind: Kind, path: Path, demuxer: str) -> dict:
    probe = get_prober().probe(path, demuxer)
    if kind.needs == "audio" and not probe.has_audio:
        raise NotMedia("The voice-over file has no sound in it.")
    if kind.needs == "video" and not probe.has_video:
        raise NotMedia("The avatar file has no picture in it.")
    return {
        "demuxer": probe.demuxer, "durationSec": round(probe.duration_s, 3), "hasVideo": probe.has_video,
        "hasAudio": probe.has_audio, "width": probe.width, "height": probe.height,
    }
