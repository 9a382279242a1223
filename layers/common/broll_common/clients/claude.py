"""Claude through the anthropic SDK: one structured-output Messages call (the schema from the answer's
pydantic model), the SDK imported only when Claude is asked so the local path does not pay for it at
cold start. Every failure (HTTP status, timeout, network, refusal, cut-off or unreadable answer) becomes
a PromptError the person can act on; what to ask and how to read the answer is prompts/claude.py's.

Settings used: the model, the base URL (tests point it at a fake server) and the SDK's own retries
of 408/409/429/5xx/529 and connection errors (default 2; tests set 0 so an error answer is seen at
once instead of after backoff sleeps).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel

from ..config import settings
from ..observability import tracer
from ..prompts.model import PromptError
from .secrets import anthropic_key

CLAUDE_TIMEOUT_S = 30.0
CLAUDE_MAX_TOKENS = 1024  # a 150-word prompt plus the removed list and note is ~400 tokens

Answer = TypeVar("Answer", bound=BaseModel)


def answer_schema(answer_model: type[BaseModel]) -> dict[str, Any]:
    import anthropic

    # Exactly what messages.parse(output_format=answer_model) would send as output_config.format (a test holds
    # them equal). Built per call, not cached: the SDK gets a dict it may transform without touching ours.
    return {"type": "json_schema", "schema": anthropic.transform_schema(answer_model)}


@lru_cache(maxsize=4)
def _client(api_key: str, base_url: str, max_retries: int):
    import anthropic  # imported here: the local composer path must not pay for it at cold start

    # Cached so a warm Lambda reuses the connection; keyed by all three, so a rotated key (or another base URL)
    # gets a client of its own.
    return anthropic.Anthropic(api_key=api_key, base_url=base_url or None, max_retries=max_retries,
                               timeout=CLAUDE_TIMEOUT_S)


def _error_detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(message, str) and message.strip():
            return message.strip()[:200]
    return ""


def _status_message(status: int, detail: str) -> str:
    if status in (401, 403):
        return f"Claude refused the API key (HTTP {status}); check ANTHROPIC_API_KEY."
    if status == 429:
        return "Claude is rate-limiting requests (HTTP 429); wait a moment and try again."
    if status == 529:
        return "Claude is overloaded right now (HTTP 529); try again in a minute."
    if status >= 500:
        return f"Claude had a server error (HTTP {status}); try again in a minute."
    return f"Claude rejected the request (HTTP {status}{': ' + detail if detail else ''})."


@tracer.capture_method(capture_response=False)
def ask(system: str, user: str, answer_model: type[Answer]) -> Answer:
    """One structured-output call; every failure becomes a PromptError with a sentence the person can act on."""
    import anthropic

    s = settings()
    client = _client(anthropic_key(), s.anthropic_base_url, s.anthropic_max_retries)
    try:
        # messages.create with the schema messages.parse would send, not messages.parse itself: parse validates
        # the text inside the SDK and raises pydantic's ValidationError before stop_reason can be read, so a
        # refusal ("I can't help with that") or a max_tokens cut-off would look like malformed JSON.
        message = client.messages.create(
            model=s.anthropic_model,
            max_tokens=CLAUDE_MAX_TOKENS,
            system=system,
            messages=[{"role": "user", "content": user}],
            output_config={"format": answer_schema(answer_model)},
        )
    except anthropic.APIStatusError as exc:
        raise PromptError(_status_message(exc.status_code, _error_detail(exc))) from exc
    except anthropic.APITimeoutError as exc:
        raise PromptError(f"Claude did not answer within {CLAUDE_TIMEOUT_S:g} seconds; try again.") from exc
    except anthropic.APIConnectionError as exc:
        raise PromptError("Claude could not be reached; check the network and try again.") from exc
    except (anthropic.AnthropicError, pydantic.ValidationError, ValueError) as exc:
        # APIResponseValidationError, or a body that is not a message at all (a proxy's HTML, say).
        raise PromptError("Claude's answer could not be read; try again.") from exc

    if message.stop_reason == "refusal":
        raise PromptError(
            "Claude declined to write a prompt for this scene; edit the shot instructions or write the prompt yourself."
        )
    text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
    if message.stop_reason == "max_tokens":
        raise PromptError("Claude's answer was cut off before the prompt was complete; try again.")
    try:
        answer = answer_model.model_validate_json(text)
    except ValueError as exc:  # pydantic's ValidationError (bad JSON or wrong shape) is a ValueError
        raise PromptError("Claude's answer was not the structured prompt that was asked for; try again.") from exc
    return answer
