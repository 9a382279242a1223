"""Download All: one ZIP of the project's material in the media bucket, rebuilt only on change.

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
import zipfile

from botocore.exceptions import ClientError

from . import plan, storage
from .aws import client
from .config import settings
from .media import presigned_url
from .render import current_composite_key

CHUNK = 1024 * 1024
COMPOSITE_NAME = "composite.mp4"
AI_DISCLOSURE = "Clips marked aiGenerated are AI-generated video (Google Veo 3 via Kie.ai), not recorded footage."


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "scene"


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
        ("voiceover" + os.path.splitext(record.audio.get("audioKey") or ".m4a")[1], record.audio.get("audioKey")),
        ("avatar" + os.path.splitext(record.avatar.get("avatarVideoKey") or ".mp4")[1], record.avatar.get("avatarVideoKey")),
    ]
    files = [(name, key) for name, key in media if key] + files
    composite = current_composite_key(record)
    if composite:
        files.append((COMPOSITE_NAME, composite))
    timeline = {
        "projectId": record.project_id,
        "name": record.meta.get("name", record.project_id),
        "audioDurationSec": record.audio.get("audioDurationSec"),
        # The avatar with every clip cut in: present once rendered from exactly these clips.
        "composite": COMPOSITE_NAME if composite else None,
        # Disclosure travels with the footage: every clip marked aiGenerated (and a composite
        # that contains any) is AI-generated video.
        "aiDisclosure": AI_DISCLOSURE,
        "scenes": scenes,
    }
    return timeline, files


def export_key(record: storage.ProjectRecord) -> tuple[str, dict, list[tuple[str, str]]]:
    timeline, files = manifest(record)
    script = record.script.get("script", "")
    digest = hashlib.sha256(json.dumps([timeline, files, script], sort_keys=True).encode()).hexdigest()[:16]
    return f"projects/{record.project_id}/exports/{digest}.zip", timeline, files


def _exists(key: str) -> bool:
    try:
        client("s3").head_object(Bucket=settings().media_bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def build_archive(record: storage.ProjectRecord, timeline: dict, files: list[tuple[str, str]], target) -> None:
    s3, bucket = client("s3"), settings().media_bucket
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("script.txt", record.script.get("script", "") + "\n")
        archive.writestr("timeline.json", json.dumps(timeline, indent=2, ensure_ascii=False))
        for name, key in files:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            # Videos do not compress: store them, and copy in chunks.
            with archive.open(zipfile.ZipInfo(name), "w") as entry:
                shutil.copyfileobj(body, entry, CHUNK)


def download_url(project_id: str, owner: str) -> str:
    record = storage.load_project(project_id, owner=owner)
    key, timeline, files = export_key(record)
    if not _exists(key):
        with tempfile.TemporaryFile() as spool:
            build_archive(record, timeline, files, spool)
            spool.seek(0)
            client("s3").upload_fileobj(spool, settings().media_bucket, key, ExtraArgs={"ContentType": "application/zip"})
    return presigned_url(key)
