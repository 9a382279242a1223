"""The Kie.ai Veo 3 client (see KIE.md): one place that speaks Kie's wire contract.

Every answer is an envelope whose `code` matters more than the HTTP status. Failures are
mapped once, here, into the three kinds the product treats differently:
- KieUnavailable: 5xx-type or a timeout; retry later; counts against the circuit breaker.
- KieRateLimited: 429; retry with backoff; never a failed scene while retries remain.
- KieRejected: the request itself is wrong (400/401/402/422/...); never retried blindly,
  shown as what the person should change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx

from ..observability import tracer

USER_AGENT = "BRollStudio/1.0 (+https://github.com/broll-studio)"

# What a person reads on the scene, per envelope code (KIE.md "Error codes").
MESSAGES = {
    400: "Kie.ai rejected the prompt (content policy or a non-English prompt). Edit the prompt and try again.",
    401: "The Kie.ai API key was refused. Check the key in your settings.",
    402: "Your Kie.ai account is out of credits. Top up, then retry.",
    404: "Kie.ai does not know this task any more.",
    408: "Kie.ai got no result from the video model within 10 minutes. Retry to try again.",
    422: "Kie.ai refused the request as invalid. Edit the prompt and try again.",
    429: "Kie.ai is rate limiting requests right now. Retry in a minute.",
    451: "Kie.ai could not fetch an input image.",
    455: "Kie.ai is under maintenance. Retry later.",
    500: "Kie.ai had an internal error. Retry later.",
    501: "The video generation failed at Kie.ai. Retry, or change the prompt.",
    505: "This Kie.ai feature is disabled for the account.",
}
RETRYABLE_CODES = {429, 455, 500, 503, 502, 504}
# A gateway's timeout (Cloudflare's 524 too): the request reached Kie, which did not answer in time.
GATEWAY_TIMEOUTS = {504, 524}
# Raised before a connection existed: the request never left us.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class KieError(Exception):
    def __init__(self, code: int, detail: str):
        super().__init__(f"Kie.ai {code}: {detail}")
        self.code = code
        self.detail = detail

    @property
    def user_message(self) -> str:
        return MESSAGES.get(self.code, f"Kie.ai answered an error ({self.code}): {self.detail}")


class KieUnavailable(KieError):
    """Server-side trouble or a timeout: the breaker counts these.

    `may_have_started`: the request left us and no verdict came back (a read timeout, a
    dropped connection, a gateway timeout), so Kie may have started and charged the task;
    such a submit is never sent again blindly. Otherwise Kie (or its front) refused it, or
    it never left us: nothing was started.
    """

    def __init__(self, code: int, detail: str, *, may_have_started: bool = False):
        super().__init__(code, detail)
        self.may_have_started = may_have_started

    @property
    def user_message(self) -> str:
        if self.code == 0:
            return "Kie.ai did not answer in time. Retry later."
        return MESSAGES.get(self.code, "Kie.ai is unavailable right now. Retry later.")


class KieRateLimited(KieError):
    pass


class KieRejected(KieError):
    pass


class TaskState(str, Enum):
    GENERATING = "generating"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class TaskRecord:
    task_id: str
    state: TaskState
    result_urls: list[str] = field(default_factory=list)
    error_code: int | None = None
    error_message: str | None = None

    @property
    def user_message(self) -> str:
        base = MESSAGES.get(self.error_code or 501, "The video generation failed at Kie.ai.")
        if self.error_message:
            return f"{base} (Kie.ai said: {self.error_message.rstrip('.')}.)"
        return base


def _classify(code: int, msg: str) -> KieError:
    if code == 429:
        return KieRateLimited(code, msg)
    if code in RETRYABLE_CODES or code >= 500 and code not in (501, 505):
        return KieUnavailable(code, msg, may_have_started=code in GATEWAY_TIMEOUTS)
    return KieRejected(code, msg)


def _url_list(value: Any) -> list[str]:
    # Kie answers resultUrls as a list, or as a JSON-encoded string of one.
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if isinstance(value, str):
        return [value] if value.startswith("http") else []
    return [str(v) for v in value or []]


class KieClient:
    def __init__(self, base_url: str, api_key: str, timeout: float = 20.0, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except NOT_SENT as exc:
            raise KieUnavailable(0, f"network: {exc.__class__.__name__}") from exc
        except httpx.TimeoutException as exc:
            raise KieUnavailable(0, f"timeout: {exc.__class__.__name__}", may_have_started=True) from exc
        except httpx.TransportError as exc:  # the connection broke after the request was on its way
            raise KieUnavailable(0, f"network: {exc.__class__.__name__}", may_have_started=True) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise _classify(response.status_code, response.text[:200])
        try:
            envelope = response.json()
            code = int(envelope.get("code", response.status_code))
        except (ValueError, TypeError, AttributeError) as exc:
            # An HTML error page from Kie's front (e.g. Cloudflare's 403) or a body that is
            # not an envelope is not a verdict on the request.
            raise KieUnavailable(response.status_code, response.text[:200]) from exc
        if code != 200:
            raise _classify(code, str(envelope.get("msg", "")))
        return envelope.get("data")

    def _data(self, method: str, path: str, **kwargs: Any) -> Any:
        data = self._call(method, path, **kwargs)
        if data is None:
            # Kie said success: a submit may have started a task we cannot name.
            raise KieUnavailable(200, f"{path} answered success without data", may_have_started=True)
        return data

    @tracer.capture_method
    def submit(self, prompt: str, *, model: str = "veo3_fast", callback_url: str | None = None, seed: int | None = None) -> str:
        body: dict[str, Any] = {
            "prompt": prompt,
            "model": model,
            # The seed and most of Kie's pages say aspectRatio, the current page aspect_ratio.
            "aspectRatio": "9:16",
            "aspect_ratio": "9:16",
            "generationType": "TEXT_2_VIDEO",
            "enableTranslation": False,
        }
        if callback_url:
            body["callBackUrl"] = callback_url
        if seed is not None:
            body["seeds"] = seed
        data = self._data("POST", "/api/v1/veo/generate", json=body)
        task_id = data.get("taskId") if isinstance(data, dict) else None
        if not task_id:
            raise KieUnavailable(200, "generate answered success without a taskId", may_have_started=True)
        return str(task_id)

    @tracer.capture_method
    def record_info(self, task_id: str) -> TaskRecord:
        data = self._data("GET", "/api/v1/veo/record-info", params={"taskId": task_id})
        if not isinstance(data, dict):
            raise KieUnavailable(200, "record-info answered a body that is not a record")
        flag = int(data.get("successFlag") or 0)
        if flag == 1:
            response = data.get("response") or {}
            return TaskRecord(task_id, TaskState.SUCCEEDED, result_urls=_url_list(response.get("resultUrls")))
        if flag in (2, 3):
            code = data.get("errorCode")
            return TaskRecord(
                task_id,
                TaskState.FAILED,
                error_code=int(code) if code not in (None, "") else 501,
                error_message=data.get("errorMessage"),
            )
        return TaskRecord(task_id, TaskState.GENERATING)

    @tracer.capture_method
    def credits(self) -> float:
        return float(self._data("GET", "/api/v1/chat/credit"))
