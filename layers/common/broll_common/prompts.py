"""Text-to-video prompts for a scene: Claude when a key is set, else the local composer.

Both follow the same Veo rules (DESIGN.md): shot and camera move, subject, one action,
setting, lighting, style, sound; 9:16 with the subject centred; one identical style suffix
for every scene; no real people's names, logos, on-screen text or quotation marks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from .config import settings
from .errors import BrollError

STYLE_SUFFIX = (
    "Photorealistic documentary news B-roll, natural colour grade, shallow depth of field, "
    "vertical 9:16 framing with the subject centred. Ambient sound only, no dialogue. "
    "Avoid subtitles, captions, watermark, text overlay, logos."
)

CAMERA_BY_TYPE = {
    "hook": "Close-up, slow dolly push-in, eye-level angle.",
    "main": "Medium shot, smooth vertical crane down, slight high angle.",
    "cta": "Wide establishing shot, slow tilt up, low angle.",
    "other": "Medium shot, gentle handheld drift.",
}

LIGHTING_BY_TYPE = {
    "hook": "Dramatic low-key lighting with soft rim light.",
    "main": "Soft natural daylight.",
    "cta": "Warm golden-hour light.",
    "other": "Soft natural light.",
}

_STOP = set(
    "a an the and or but if then so of to in on at by for with from into onto over under this that these those "
    "is are was were be been being it its it's as we you they he she i our your their his her them us me my "
    "will would can could should may might must do does did not no yes just more most very now here there "
    "what which who whom how when where why all any each every some such than too also about after before "
    "today tonight tomorrow yesterday new says said say".split()
)


class PromptError(BrollError):
    status = 502


@dataclass
class ComposedPrompt:
    text: str
    source: str  # "local" | "claude"
    removed: list[str]


def strip_names(text: str) -> tuple[str, list[str]]:
    """Remove what Veo cannot depict or will refuse: capitalised names mid-sentence, tickers, quotes."""
    removed: list[str] = []

    def drop(match: re.Match) -> str:
        removed.append(match.group(0))
        return ""

    text = re.sub(r"\$[A-Z]{1,5}\b|\b[A-Z]{2,8}:[A-Z]{1,5}\b", drop, text)
    # Two or more capitalised words in a row, not at the start of a sentence: a name.
    text = re.sub(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b", drop, text)
    text = re.sub(r"[\"“”«»]", "", text)
    return re.sub(r"\s{2,}", " ", text).strip(), removed


def keywords(text: str, limit: int = 6) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z-]{2,}", text)
    seen: list[str] = []
    for word in words:
        low = word.lower()
        if low not in _STOP and low not in seen:
            seen.append(low)
    return seen[:limit]


def compose_locally(scene_type: str, scene_text: str, shot_instructions: str, script: str) -> ComposedPrompt:
    instructions, removed_a = strip_names(shot_instructions.strip())
    narration, removed_b = strip_names(scene_text.strip())
    focus = keywords(narration) or keywords(strip_names(script)[0]) or ["city", "street"]
    if instructions:
        subject = instructions.rstrip(".") + "."
    else:
        subject = f"A scene about {', '.join(focus[:3])}, shown through one clear everyday moment."
    action = f"One continuous action that shows {' and '.join(focus[:2])}, no cuts."
    setting = f"Setting that matches the story: {', '.join(focus[2:5]) or 'a real location'}, present day."
    text = " ".join(
        [
            CAMERA_BY_TYPE.get(scene_type, CAMERA_BY_TYPE["other"]),
            subject,
            action,
            setting,
            LIGHTING_BY_TYPE.get(scene_type, LIGHTING_BY_TYPE["other"]),
            STYLE_SUFFIX,
        ]
    )
    return ComposedPrompt(text=text, source="local", removed=removed_a + removed_b)


class _ClaudeAnswer(BaseModel):
    prompt: str = Field(description="The Veo 3 prompt, 50-150 words, English.")
    removed: list[str] = Field(default_factory=list, description="Names, brands or text left out, and why.")


SYSTEM_PROMPT = f"""You write one text-to-video prompt for Google Veo 3 (8-second clip, vertical 9:16) \
to be used as B-roll under a news voice-over.
Order: shot size, angle and camera move (dolly, pan, tilt, truck, crane, orbit, static, handheld, POV) -> \
subject -> one concrete action -> setting and time -> lighting -> style and colour -> sound.
Rules: 50-150 words; one shot, one action; centre the subject, prefer vertical movement; \
never name real people, brands or logos (describe a generic person or object instead); no on-screen text, \
captions or quotation marks; no minors, no violence; sound is ambient only, no dialogue. \
End with exactly this style suffix: {STYLE_SUFFIX}"""


def compose_with_claude(scene_title: str, scene_text: str, shot_instructions: str, script: str) -> ComposedPrompt:
    import anthropic  # imported here: the local composer path must not pay for it at cold start

    s = settings()
    client = anthropic.Anthropic(api_key=s.anthropic_api_key, max_retries=2, timeout=30.0)
    user = (
        f"Whole script (context):\n{script}\n\nThis scene ({scene_title}):\n{scene_text}\n\n"
        f"The person's shot instructions (their intent, follow them):\n{shot_instructions or '(none)'}"
    )
    try:
        message = client.messages.parse(
            model=s.anthropic_model,
            max_tokens=800,
            system=SYSTEM_PROMPT,
            messages=[{"role": "user", "content": user}],
            output_format=_ClaudeAnswer,
        )
    except anthropic.APIStatusError as exc:
        raise PromptError(f"Claude could not write the prompt (HTTP {exc.status_code}). Try again.") from exc
    except anthropic.APIError as exc:
        raise PromptError("Claude could not be reached to write the prompt. Try again.") from exc
    except ValueError as exc:
        raise PromptError("Claude's answer could not be read as a prompt. Try again.") from exc
    if message.stop_reason == "refusal" or message.parsed_output is None:
        raise PromptError("Claude declined to write a prompt for this scene. Edit the shot instructions and try again.")
    answer = message.parsed_output
    text, removed = strip_names(answer.prompt)
    return ComposedPrompt(text=text, source="claude", removed=answer.removed + removed)


def compose(scene_type: str, scene_title: str, scene_text: str, shot_instructions: str, script: str) -> ComposedPrompt:
    if settings().anthropic_api_key:
        return compose_with_claude(scene_title, scene_text, shot_instructions, script)
    return compose_locally(scene_type, scene_text, shot_instructions, script)
