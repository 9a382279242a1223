"""A small, real HTTP server that answers `POST /v1/messages` the way Anthropic's API does.

The real `anthropic` SDK talks to it over a socket (ANTHROPIC_BASE_URL), so tests see exactly
what the SDK sends (every request body is recorded) and how prompts.py handles each kind of
answer: a structured JSON prompt, malformed JSON, a refusal, or an error status with
Anthropic's error body.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from broll_common import config

MODEL = "claude-haiku-5-5"
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the timeout test) closes the socket before the late answer: not a failure.
        pass


@dataclass
class Reply:
    status: int
    body: dict[str, Any]


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeAnthropic:
    requests: list[Recorded] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    delay_s: float = 0.0  # answer this late (a timeout test)

    # --- what to answer (queued; the last reply repeats for any further request) ---

    def message(self, text: str | None, stop_reason: str = "end_turn", model: str = MODEL) -> FakeAnthropic:
        content = [{"type": "text", "text": text}] if text is not None else []
        self.replies.append(
            Reply(
                200,
                {
                    "id": f"msg_{uuid.uuid4().hex[:24]}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": content,
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 812, "output_tokens": 214},
                },
            )
        )
        return self

    def answer(self, prompt: str, removed: list[dict[str, str]] | None = None, note: str = "") -> FakeAnthropic:
        """A valid structured answer, as Claude writes it for output_config's JSON schema."""
        return self.message(json.dumps({"prompt": prompt, "removed": removed or [], "note": note}))

    def malformed(self, text: str = '{"prompt": "Wide shot of a harbour at dawn, boats rocking') -> FakeAnthropic:
        return self.message(text)

    def refuse(self, text: str = "I can't help with creating that content.") -> FakeAnthropic:
        return self.message(text, stop_reason="refusal")

    def error(self, status: int, message: str = "") -> FakeAnthropic:
        kind = ERROR_TYPES.get(status, "api_error")
        body = {
            "type": "error",
            "error": {"type": kind, "message": message or kind.replace("_", " ").capitalize()},
            "request_id": f"req_{uuid.uuid4().hex[:24]}",
        }
        self.replies.append(Reply(status, body))
        return self

    # --- inspection ---

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def last(self) -> dict[str, Any]:
        return self.requests[-1].body

    # --- lifecycle ---

    def start(self) -> FakeAnthropic:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if self.path.split("?")[0] != "/v1/messages":
                    reply = Reply(404, {"type": "error", "error": {"type": "not_found_error", "message": "Not found"}})
                elif not fake.replies:
                    reply = Reply(500, {"type": "error", "error": {"type": "api_error", "message": "no reply set"}})
                else:
                    reply = fake.replies.pop(0) if len(fake.replies) > 1 else fake.replies[0]
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", reply.body.get("request_id", "req_fake"))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits up to one interval, and every test stops a server.
        threading.Thread(target=self.server.serve_forever, args=(0.02,), name="fake-anthropic", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def fake_anthropic(monkeypatch):
    """Claude on: a key, the SDK pointed at the fake, no SDK retries (an error answer is seen at once)."""
    fake = FakeAnthropic().start()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    monkeypatch.setenv("ANTHROPIC_MAX_RETRIES", "0")
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    config.reset_settings()
    yield fake
    fake.stop()
    config.reset_settings()
