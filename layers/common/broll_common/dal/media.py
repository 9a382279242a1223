"""The media bucket (S3): every call the product makes to it, one owner.

Our own copies of clips, composites and ZIPs, and the presigned URLs we hand out. logic/media.py
(names and URLs), logic/render.py and logic/export.py use it through `get_media()`.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

from botocore.exceptions import ClientError

from ..aws import client
from ..config import settings
from ..ports import Port

MISSING = ("404", "NoSuchKey", "NotFound")


class ObjectMissing(Exception):
    """The key is not in the media bucket."""


class Media(Protocol):
    def presigned_url(self, key: str) -> str: ...

    def exists(self, key: str) -> bool: ...

    def open(self, key: str) -> BinaryIO:
        """The object's body as a stream (read it in chunks); ObjectMissing when there is none."""
        ...

    def download(self, key: str, path: str) -> None: ...

    def upload_file(self, path: str, key: str, content_type: str) -> None: ...

    def upload_stream(self, stream, key: str, content_type: str) -> None:
        """Upload from a file-like object read in parts (bounded memory)."""
        ...

    def copy_from_url(self, source_url: str, key: str) -> None:
        """Stream a file at an outside URL (a finished clip at Kie) into the bucket."""
        ...

    def presigned_post(self, key: str, content_type: str, max_bytes: int) -> dict:
        """A form the page POSTs one file with: this key only, this content type, 1..max_bytes
        (S3 itself refuses anything else). {"url", "fields"}."""
        ...

    def copy(self, source_key: str, key: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def delete_folder(self, prefix: str) -> int:
        """Delete every object under prefix; how many there were."""
        ...


def _missing(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in MISSING


class S3Media:
    """The media bucket, settings().media_bucket."""

    @property
    def _bucket(self) -> str:
        return settings().media_bucket

    def presigned_url(self, key: str) -> str:
        return client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=settings().presign_ttl_s,
        )

    def exists(self, key: str) -> bool:
        try:
            client("s3").head_object(Bucket=self._bucket, Key=key)
            return True
        except ClientError as exc:
            if _missing(exc):
                return False
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            return client("s3").get_object(Bucket=self._bucket, Key=key)["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise ObjectMissing(key) from exc
            raise

    def download(self, key: str, path: str) -> None:
        client("s3").download_file(self._bucket, key, path)

    def upload_file(self, path: str, key: str, content_type: str) -> None:
        client("s3").upload_file(path, self._bucket, key, ExtraArgs={"ContentType": content_type})

    def upload_stream(self, stream, key: str, content_type: str) -> None:
        client("s3").upload_fileobj(stream, self._bucket, key, ExtraArgs={"ContentType": content_type})

    def copy_from_url(self, source_url: str, key: str) -> None:
        import httpx  # here: only the functions that copy clips pay for it at cold start

        with httpx.stream("GET", source_url, timeout=60.0, follow_redirects=True) as response:
            response.raise_for_status()
            self.upload_stream(_Reader(response.iter_bytes()), key, "video/mp4")


    def presigned_post(self, key: str, content_type: str, max_bytes: int) -> dict:
        return client("s3").generate_presigned_post(
            self._bucket, key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=settings().upload_ttl_s,
        )

    def copy(self, source_key: str, key: str) -> None:
        client("s3").copy({"Bucket": self._bucket, "Key": source_key}, self._bucket, key)

    def delete(self, key: str) -> None:
        client("s3").delete_object(Bucket=self._bucket, Key=key)

    def delete_folder(self, prefix: str) -> int:
        s3, deleted = client("s3"), 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:  # at most 1000 per page, DeleteObjects' own limit
                s3.delete_objects(Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted


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


get_media: Port[Media] = Port(S3Media)
