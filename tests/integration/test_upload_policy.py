"""A presigned POST is the only thing that limits what a person uploads, so the local moto must
refuse what S3 refuses (devstack/s3_post_policy.py): each form here comes from boto3's
generate_presigned_post against the running stack's moto, as the upload route makes them."""

from __future__ import annotations

import base64
import json
import os
import uuid

import boto3
import httpx
import pytest
from botocore.config import Config

AUDIO = b"ID3" + b"\0" * 997  # the bytes do not matter to S3, only their number


@pytest.fixture(params=["s3", "s3v4"], ids=["sigv2", "sigv4"])
def s3(stack, request):
    # boto3 signs a POST policy with SigV2 unless the client asks for s3v4: S3 takes both.
    return boto3.client("s3", config=Config(signature_version=request.param))


@pytest.fixture
def folder() -> str:
    return f"users/ann/projects/p-{uuid.uuid4().hex[:8]}/media/"


def presigned(s3, key: str, content_type: str = "audio/mpeg", max_bytes: int = 5000, expires_in: int = 300) -> dict:
    return s3.generate_presigned_post(
        os.environ["MEDIA_BUCKET"], key, Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]], ExpiresIn=expires_in,
    )


def send(form: dict, fields: dict | None = None, body: bytes = AUDIO, headers: dict | None = None) -> httpx.Response:
    # The form's fields, then the file (httpx puts data before files), as the page and the CLI send it.
    return httpx.post(form["url"], data=fields if fields is not None else form["fields"],
                      files={"file": ("voice.mp3", body, "audio/mpeg")}, headers=headers or {}, timeout=30)


def stored(s3, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=os.environ["MEDIA_BUCKET"], Prefix=prefix).get("Contents", [])]


def refused(response: httpx.Response, status: int, code: str) -> bool:
    return response.status_code == status and f"<Code>{code}</Code>" in response.text


def test_the_form_as_signed_is_stored(s3, folder):
    key = folder + "voiceover-0123456789ab.mp3"
    response = send(presigned(s3, key))
    assert response.status_code == 204, response.text
    head = s3.head_object(Bucket=os.environ["MEDIA_BUCKET"], Key=key)
    assert head["ContentLength"] == len(AUDIO)


def test_a_key_outside_the_signed_one_is_refused(s3, folder):
    form = presigned(s3, folder + "voiceover-0123456789ab.mp3")
    elsewhere = "users/ben/projects/x/media/voiceover-0123456789ab.mp3"
    assert refused(send(form, form["fields"] | {"key": elsewhere}), 403, "AccessDenied")
    assert refused(send(form, form["fields"] | {"key": folder + "other.mp3"}), 403, "AccessDenied")
    # A field moto would not read as the key (names are exact there) cannot slip past the check either.
    renamed = {("Key" if name == "key" else name): value for name, value in form["fields"].items()}
    assert refused(send(form, renamed), 400, "InvalidArgument")
    assert stored(s3, folder) == [] and stored(s3, "users/ben/") == []


def test_a_body_over_or_under_the_length_range_is_refused(s3, folder):
    form = presigned(s3, folder + "voiceover-0123456789ab.mp3", max_bytes=len(AUDIO) - 1)
    assert refused(send(form), 400, "EntityTooLarge")
    assert refused(send(presigned(s3, folder + "voiceover-0123456789ab.mp3"), body=b""), 400, "EntityTooSmall")
    assert stored(s3, folder) == []


def test_another_content_type_is_refused(s3, folder):
    form = presigned(s3, folder + "voiceover-0123456789ab.mp3")
    assert refused(send(form, form["fields"] | {"Content-Type": "text/html"}), 403, "AccessDenied")
    assert stored(s3, folder) == []


def test_an_expired_policy_is_refused(s3, folder):
    form = presigned(s3, folder + "voiceover-0123456789ab.mp3", expires_in=-5)
    response = send(form)
    assert refused(response, 403, "AccessDenied") and "expired" in response.text
    assert stored(s3, folder) == []


def test_a_tampered_signature_or_policy_is_refused(s3, folder):
    form = presigned(s3, folder + "voiceover-0123456789ab.mp3")
    fields = dict(form["fields"])
    name = "x-amz-signature" if "x-amz-signature" in fields else "signature"
    bad = fields[name][:-2] + ("AA" if fields[name][-2:] != "AA" else "BB")
    assert refused(send(form, fields | {name: bad}), 403, "SignatureDoesNotMatch")
    # A wider policy under the old signature: the signature no longer matches it.
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [c for c in policy["conditions"]
                            if not (isinstance(c, list) and c[0] == "content-length-range")]
    wider = base64.b64encode(json.dumps(policy).encode()).decode()
    assert refused(send(form, fields | {"policy": wider}), 403, "SignatureDoesNotMatch")
    assert stored(s3, folder) == []


def test_a_form_without_a_policy_or_with_a_field_it_does_not_cover_is_refused(s3, folder):
    key = folder + "voiceover-0123456789ab.mp3"
    assert refused(send({"url": presigned(s3, key)["url"]}, {"key": key, "Content-Type": "audio/mpeg"}), 403,
                   "AccessDenied")
    form = presigned(s3, key)
    response = send(form, form["fields"] | {"x-amz-meta-owner": "ben"})
    assert refused(response, 403, "AccessDenied") and "x-amz-meta-owner" in response.text
    assert stored(s3, folder) == []


def test_the_page_reads_the_answer_under_the_buckets_cors_rule(stack, s3, folder):
    # The page POSTs from its own origin: S3 answers with that origin allowed, refused or not.
    form = presigned(s3, folder + "voiceover-0123456789ab.mp3", max_bytes=10)
    page = {"Origin": stack.api_url}
    assert send(form, headers=page).headers.get("access-control-allow-origin") == stack.api_url
    assert "access-control-allow-origin" not in send(form, headers={"Origin": "https://evil.example"}).headers
