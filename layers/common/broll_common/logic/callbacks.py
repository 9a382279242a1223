"""Kie's signed callbacks (KIE.md): verified in constant time, stale ones refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from ..config import settings
from ..models.errors import BrollError
from ..clients.secrets import callback_signature, parameter_value, webhook_hmac_key

MAX_AGE_S = 300


class BadSignature(BrollError):
    status = 401


class ForeignCallback(BrollError):
    status = 403


def callback_base_url() -> str:
    """Where Kie is told to post finished tasks ('' = no callbacks, the poll loop alone):
    KIE_CALLBACK_URL when set, even empty (the local stack), else the SSM parameter the
    template fills with the deployed API's URL."""
    s = settings()
    if s.kie_callback_url is not None:
        return s.kie_callback_url
    if not s.kie_callback_url_parameter:
        return ""
    return parameter_value(s.kie_callback_url_parameter)


def verify_binding(project_id: str, scene_id: str, generation: int, signature: str) -> None:
    """The callback URL must be one we issued, for exactly this project, scene and generation."""
    expected = callback_signature(project_id, scene_id, generation)
    if not hmac.compare_digest(expected, signature):
        raise ForeignCallback("This callback URL was not issued for this scene.")


def expected_signature(task_id: str, timestamp: str, key: str) -> str:
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(headers: dict, task_id: str, key: str | None = None, now: float | None = None) -> None:
    """Raise BadSignature unless the callback is signed with our webhook key and fresh.

    With no key configured there is nothing to verify; the outcome is confirmed with
    record-info either way, so an unsigned callback can at most cause one extra status call.
    """
    key = key if key is not None else webhook_hmac_key()
    if not key:
        return
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp, signature = lowered.get("x-webhook-timestamp", ""), lowered.get("x-webhook-signature", "")
    if not timestamp.isdigit() or not signature:
        raise BadSignature("The callback is not signed.")
    if abs((now or time.time()) - int(timestamp)) > MAX_AGE_S:
        raise BadSignature("The callback's timestamp is too old.")
    if not hmac.compare_digest(expected_signature(task_id, timestamp, key), signature):
        raise BadSignature("The callback's signature does not match.")
