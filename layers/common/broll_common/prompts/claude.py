"""Prompts written by Claude: the system prompt, the request built from a scene, the answer read back.

Structured output (a JSON schema built from `_ClaudeAnswer`) through clients.claude, the SDK call. Every
failure (HTTP status, timeout, network, refusal, cut-off or unreadable answer) becomes a PromptError the
person can act on, and a name Claude left in is still scrubbed from its answer.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, Field

from ..clients import claude
from ..config import settings
from .model import ComposedPrompt, PromptError, PromptRequest
from .scrub import merge, note_for, scrub_text
from .style import StyleLock, without_suffix
from .text import article, sentence

class _LeftOut(BaseModel):
    item: str = Field(description="The exact name, brand, ticker or quoted text from the scene that the prompt omits.")
    reason: str = Field(description="Why, in a few words, e.g. 'real person, shown as a senator'.")


class _ClaudeAnswer(BaseModel):
    prompt: str = Field(description="The finished Veo 3 prompt, 50-150 words, English, ending with the style lock.")
    removed: list[_LeftOut] = Field(description="Everything from the scene or instructions that was left out.")
    note: str = Field(description="One short sentence for the person: what was left out or changed and why; or ''.")


SYSTEM_PROMPT = """You write prompts for Google Veo 3, a text-to-video model. Each prompt makes one \
8-second vertical (9:16) clip that plays as B-roll under a news voice-over. The voice-over tells the story; \
the clip only has to show it.

Write the prompt as one paragraph of plain English sentences, 50 to 150 words, in this order:
1. Shot size, angle and camera move in standard words: wide, medium, close-up; eye-level, low or high angle; \
dolly, pan, tilt, truck, crane, orbit, static, handheld or POV. The frame is vertical: keep the subject centred \
and prefer vertical movement (tilt, crane).
2. The subject: a concrete, generic person, object or place.
3. One concrete action that lasts the whole 8 seconds. One shot, no cuts.
4. Setting and time of day.
5. Lighting.
6. Style and colour: the style lock sentence you are given, copied exactly, as the very end of the prompt.
Mention ambient sound before the style lock (ambient sound only: no dialogue, no narration, no lyrics).

Veo refuses or mangles some content, so:
- Never name a real person. News scripts name politicians, executives and celebrities: show their role instead, \
generic and unidentifiable (a senator at a podium, a business executive walking through an office).
- No brands, logos, product or company names, stock tickers, team names: describe the object generically \
(an electric car, a smartphone).
- No on-screen text of any kind: no captions, signs with words, headlines, labelled charts. Never use quotation \
marks: they invite Veo to render text.
- No children or teenagers. No violence, weapons, blood, injuries or victims: show a calm aftermath or a \
symbolic detail instead.
- Write in English even when the script is in another language.
- The person's shot instructions are their intent: follow them, departing only as far as these rules require, \
and say so in the note.
- The neighbouring scenes' narration is only context for what this scene means; illustrate this scene's narration.
- When the scene is one sub-shot of several, show a distinct moment of the same scene (its own framing and beat), \
with the same subject, place and style as the other sub-shots.

Answer in the requested JSON format: prompt is the finished prompt; removed lists each name, brand, ticker or \
quoted text from the scene or instructions that the prompt leaves out, with the reason; note is one short \
sentence for the person saying what you left out or changed and why, or an empty string."""

_FRAMING_HINTS = ("wide", "medium", "close-up", "detail", "overhead")


def _user_message(request: PromptRequest) -> str:
    style = request.style
    locked = [f"{name}: {value}" for name, value in
              (("look", style.look), ("colour", style.colour), ("lens", style.lens), ("era", style.era)) if value]
    parts = [
        f"<context>\n{request.context.strip() or '(no other scenes)'}\n</context>",
        f"<scene type=\"{request.scene_type}\">\nTitle: {request.scene_title}\nNarration:\n"
        f"{request.scene_text.strip() or '(no narration)'}\n</scene>",
        "<shot_instructions>\n"
        + (request.shot_instructions.strip() or "(none: choose the visual yourself from the narration)")
        + "\n</shot_instructions>",
    ]
    if request.shot and request.shot[1] > 1:
        n, count = request.shot
        hint = _FRAMING_HINTS[(n - 1) % len(_FRAMING_HINTS)]
        parts.append(
            f"<sub_shot>Sub-shot {n} of {count}: this scene is longer than one clip and is covered by {count} "
            f"8-second clips in a row. Write clip {n} only: a distinct moment of the same scene (for example "
            f"{article(hint)} framing), same subject, place and style.</sub_shot>"
        )
    parts.append(
        "<style_lock>\n"
        + (("Project style: " + "; ".join(locked) + ".\n") if locked else "")
        + f"End the prompt with exactly this sentence:\n{style.suffix()}\n</style_lock>"
    )
    return "\n\n".join(parts)


def _rewrite_message(request: PromptRequest, rejected_prompt: str, reason: str) -> str:
    return (
        _user_message(request)
        + f"\n\n<rejected_prompt>\n{rejected_prompt.strip()}\n</rejected_prompt>\n\n"
        f"<refusal_reason>\n{reason.strip() or '(no reason given)'}\n</refusal_reason>\n\n"
        "The video service refused the rejected prompt above for its content policy, for the reason given. "
        "Write a new, safer prompt for the same scene that keeps the shot's intent: remove or make generic whatever "
        "could have triggered the refusal (real or recognisable people, brands, text, weapons, violence, minors, "
        "sensitive places). It must differ from the rejected prompt. In the note, say in one sentence what you "
        "changed and why."
    )


def _ask_claude(request: PromptRequest, user: str) -> _ClaudeAnswer:
    """One structured-output call (clients.claude), read back as the answer this module asked for."""
    answer = claude.ask(SYSTEM_PROMPT, user, _ClaudeAnswer)
    if not answer.prompt.strip():
        raise PromptError("Claude returned an empty prompt; try again or write the prompt yourself.")
    return answer


def _finish_claude(request: PromptRequest, answer: _ClaudeAnswer) -> ComposedPrompt:
    suffix = request.style.suffix()
    body, scrub = scrub_text(without_suffix(answer.prompt, suffix))  # safety net: a name Claude left in still goes
    if not body:
        raise PromptError("Claude returned an empty prompt; try again or write the prompt yourself.")
    body = sentence(body)
    removed = merge([(r.item, "claude") for r in answer.removed if r.item.strip()], scrub.removed)
    note = answer.note.strip() or None
    if scrub.removed or (removed and not note):
        note = note_for(removed)
    return ComposedPrompt(text=f"{body} {suffix}", source="claude", removed=[i for i, _ in removed], note=note)


def compose_with_claude(request: PromptRequest) -> ComposedPrompt:
    return _finish_claude(request, _ask_claude(request, _user_message(request)))


def cache_key(request: PromptRequest) -> str:
    """What Claude writes a prompt from, hashed (with the model and these instructions, so a new
    model or system prompt asks again). The style is in it as Claude is told it (_user_message:
    look, colour, lens, era; the seed is not told): Claude writes the body to that style, so a
    new style lock asks again."""
    style = request.style
    material = [SYSTEM_PROMPT, settings().anthropic_model, request.scene_type, request.scene_title, request.scene_text,
                request.shot_instructions, request.context, request.shot,
                [style.look, style.colour, style.lens, style.era]]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def rewrite_with_claude(request: PromptRequest, rejected_prompt: str, reason: str) -> ComposedPrompt:
    """A new prompt for a scene whose `rejected_prompt` Kie refused for content policy (`reason`: Kie's message)."""
    return _finish_claude(request, _ask_claude(request, _rewrite_message(request, rejected_prompt, reason)))
