"""Our own copies of media in the S3 media bucket, and the presigned URLs we hand out."""

from __future__ import annotations

from .aws import client
from .config import settings


def clip_key(project_id: str, scene_id: str, task_id: str) -> str:
    return f"projects/{project_id}/broll/{scene_id}/{task_id}.mp4"


def presigned_url(key: str) -> str:
    return client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": settings().media_bucket, "Key": key},
        ExpiresIn=settings().presign_ttl_s,
    )


def media_url(key: str | None, url: str | None) -> str | None:
    """Our key wins (presigned); an outside URL given at import is passed through."""
    return presigned_url(key) if key else url


def copy_from_url(source_url: str, key: str) -> None:
    """Stream a finished clip out of Kie (its URLs expire) into our bucket."""
    import httpx  # here: only the functions that copy clips pay for it at cold start

    with httpx.stream("GET", source_url, timeout=60.0, follow_redirects=True) as response:
        response.raise_for_status()
        client("s3").upload_fileobj(
            _Reader(response.iter_bytes()),
            settings().media_bucket,
            key,
            ExtraArgs={"ContentType": "video/mp4"},
        )


def put_file(path: str, key: str, content_type: str) -> None:
    client("s3").upload_file(path, settings().media_bucket, key, ExtraArgs={"ContentType": content_type})


class _Reader:
    """A file-like view of an httpx byte stream, so upload_fileobj streams it (bounded memory)."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
