"""Our own copies of media in the S3 media bucket, and the presigned URLs we hand out (the S3
calls are dal.media's)."""

from __future__ import annotations

from ..dal.media import get_media


def clip_key(project_id: str, scene_id: str, task_id: str) -> str:
    return f"projects/{project_id}/broll/{scene_id}/{task_id}.mp4"


def presigned_url(key: str) -> str:
    return get_media().presigned_url(key)


def media_url(key: str | None, url: str | None) -> str | None:
    """Our key wins (presigned); an outside URL given at import is passed through."""
    return presigned_url(key) if key else url


def copy_from_url(source_url: str, key: str) -> None:
    """Stream a finished clip out of Kie (its URLs expire) into our bucket."""
    get_media().copy_from_url(source_url, key)
