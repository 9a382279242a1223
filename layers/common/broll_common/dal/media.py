"""The media bucket (S3): every call the product makes to it, one owner.

Our own copies of clips, composites and ZIPs, and the presigned URLs we hand out. logic/media.py
(names and URLs), logic/render.py and logic/export.py use it through `get_media()`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from botocore.exceptions import ClientError

from ..aws import client
from ..config import settings
from ..ports import Port

MISSING = ("404", "NoSuchKey", "NotFound")


class ObjectMissing(Exception):
    """The key is not in the media bucket."""


class Media(Protocol):
    def presigned_url(self, key: str, filename: str | None = None) -> str:
        """A GET URL for the key; with `filename`, the browser saves it under that name."""
        ...

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
        """Copy a video at an outside URL (a finished clip at Kie) into the bucket, through the
        guarded fetch (clients/fetch.py: FetchRefused when it is refused)."""
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

    def presigned_url(self, key: str, filename: str | None = None) -> str:
        params = {"Bucket": self._bucket, "Key": key}
        if filename:
            # Our own names only (a slug): nothing in it needs quoting in the header.
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=settings().presign_ttl_s)

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
        from ..clients.fetch import get_fetcher  # here: only the functions that copy clips pay for httpx

        # Through the guarded fetch (https, public addresses, the size and time caps) into /tmp,
        # then up: the URL comes from Kie's answer, which is not ours to trust.
        with tempfile.TemporaryDirectory(prefix="copy-") as work:
            path = Path(work) / "clip.mp4"
            get_fetcher().fetch_to_file(
                source_url, path, max_bytes=settings().media_max_bytes, content_types=("video/",),
            )
            self.upload_file(str(path), key, "video/mp4")

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


get_media: Port[Media] = Port(S3Media)
