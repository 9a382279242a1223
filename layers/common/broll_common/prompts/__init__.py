"""Text-to-video prompts for a scene: Claude when a key is set, else the local composer.

Both follow the same Veo rules (DESIGN.md "Veo prompt rules"): shot size, angle and camera
move -> subject -> one action -> setting and time -> lighting -> style -> sound; 50-150 words;
9:16 with the subject centred; one identical style sentence (the project's StyleLock) at the
end of every prompt; no real people's names, brands, tickers, on-screen text or quotation marks.
News scripts name people all the time, so names are turned into roles or left out, and the
person is told what was left out (`ComposedPrompt.removed` / `.note`).

After Kie refuses a prompt for content policy, `rewrite_for_policy` makes exactly one safer
prompt (Claude told the refusal, or the local composer in a stricter mode).

The modules: style (the style lock), model (request, result, error), scrub (names, tickers,
brands, quotes out), local and topics (the local composer and its news topics), claude (the
Claude client), rewrite (the one rewrite after a refusal), text (small English helpers).
"""

from __future__ import annotations

from collections.abc import Callable

from ..clients.secrets import anthropic_key
from .claude import cache_key, compose_with_claude
from .local import (
    CAMERA_BY_TYPE,
    LIGHTING_BY_TYPE,
    MAX_WORDS,
    MIN_WORDS,
    NIGHT_LIGHTING,
    STRICT_PEOPLE,
    compose_locally,
    keywords,
)
from .model import ComposedPrompt, PromptError, PromptRequest
from .rewrite import rewrite_for_policy
from .scrub import strip_names
from .style import STYLE_SUFFIX, StyleLock

__all__ = [
    "CAMERA_BY_TYPE",
    "LIGHTING_BY_TYPE",
    "MAX_WORDS",
    "MIN_WORDS",
    "NIGHT_LIGHTING",
    "STRICT_PEOPLE",
    "STYLE_SUFFIX",
    "ComposedPrompt",
    "PromptError",
    "PromptRequest",
    "StyleLock",
    "compose",
    "compose_locally",
    "cache_key",
    "compose_with_claude",
    "keywords",
    "rewrite_for_policy",
    "strip_names",
]


def compose(request: PromptRequest, claude: Callable[[PromptRequest], ComposedPrompt] | None = None) -> ComposedPrompt:
    """Claude when a Claude key is set (through `claude` when given: logic/style.py's cache), else the
    local composer (free, and the same each time); raises PromptError (502) on Claude failures."""
    if anthropic_key():
        return (claude or compose_with_claude)(request)
    return compose_locally(request)
