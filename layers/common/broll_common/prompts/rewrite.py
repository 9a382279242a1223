"""What happens after Kie refuses a prompt for content policy: exactly one safer prompt, always.

Its own module because it ties Claude and the local composer together in a fallback chain (Claude, then the
strict local rewrite) that changes with Kie's refusals, not with how either composer writes a prompt.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from ..clients.secrets import anthropic_key
from .claude import rewrite_with_claude
from .local import MAX_WORDS, STRICT_PEOPLE, compose_locally
from .model import ComposedPrompt, PromptError, PromptRequest
from .scrub import merge, scrub_text
from .style import without_suffix
from .text import sentence, trim_words


def _same(a: str, b: str) -> bool:
    return re.sub(r"\s+", " ", a).strip().lower() == re.sub(r"\s+", " ", b).strip().lower()


def _short_reason(reason: str) -> str:
    reason = re.sub(r"\s+", " ", reason or "").strip().rstrip(".")
    return (reason[:117] + "...") if len(reason) > 120 else (reason or "no reason given")


def _rewrite_locally(request: PromptRequest, rejected_prompt: str, reason: str, claude: str = "") -> ComposedPrompt:
    """The strict local rewrite: the rejected prompt itself made safe, so a person's own wording survives."""
    suffix = request.style.suffix()
    body, scrub = scrub_text(without_suffix(rejected_prompt, suffix).replace(STRICT_PEOPLE, " "), strict=True)
    if len(body.split()) >= 30:  # a whole prompt (Claude's, ours or the person's): keep its camera and light
        body = trim_words(sentence(body), MAX_WORDS - len(suffix.split()) - len(STRICT_PEOPLE.split()))
        out = ComposedPrompt(text=f"{body} {STRICT_PEOPLE} {suffix}", source="local", removed=[])
    else:  # a short hand-written prompt is the shot's intent; nothing usable left: the scene itself
        out = compose_locally(dataclasses.replace(request, shot_instructions=body or request.shot_instructions),
                              strict=True)
    if _same(out.text, rejected_prompt):  # a second rewrite of the same text: another framing of the scene
        n, count = request.shot or (1, 1)
        out = compose_locally(dataclasses.replace(request, shot=(n + 1, count + 1)), strict=True)
    _, s_instr = scrub_text(request.shot_instructions, strict=True)
    _, s_narr = scrub_text(request.scene_text, strict=True)
    out.removed = [item for item, _ in merge(scrub.removed, s_instr.removed, s_narr.removed)]
    left_out = f"left out {', '.join(out.removed)}; " if out.removed else ""
    out.note = (
        f"Kie refused the last prompt ({_short_reason(reason)}){claude}, so it was rewritten locally and more "
        f"cautiously: {left_out}no names, brands, quotes, children or violent words, and people kept anonymous."
    )
    return out


def rewrite_for_policy(
    request: PromptRequest, rejected_prompt: str, reason: str, before_claude: Callable[[], None] = lambda: None,
) -> ComposedPrompt:
    """Exactly one automatic rewrite after Kie refused `rejected_prompt` for content policy (`reason` = Kie's message).

    Claude when a key is set (told the rejected prompt and the reason); if Claude fails or repeats itself, the
    local composer in strict mode, so the automatic retry always has a different, safer prompt to send.
    `before_claude` runs just before Claude is called (the caller counts the call toward a quota).
    """
    if not anthropic_key():
        return _rewrite_locally(request, rejected_prompt, reason)
    before_claude()
    try:
        out = rewrite_with_claude(request, rejected_prompt, reason)
    except PromptError as exc:
        failure = exc.message.split(";")[0].rstrip(".")
        return _rewrite_locally(request, rejected_prompt, reason, claude=f" and Claude could not help ({failure})")
    if _same(out.text, rejected_prompt):
        return _rewrite_locally(request, rejected_prompt, reason, claude=" and Claude repeated the same prompt")
    if not out.note:
        out.note = f"Kie refused the last prompt ({_short_reason(reason)}), so Claude rewrote it to stay within policy."
    return out
