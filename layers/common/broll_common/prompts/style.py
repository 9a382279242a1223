"""The project's style lock: the one identical style sentence that ends every prompt of a project.

Its own module because both composers write it and both must find it again in a prompt they are given
(a Claude answer, a refused prompt) to cut it out before the rest is scrubbed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The fixed tail of every style sentence: Veo has no negative-prompt field, so unwanted things are named as nouns.
_SUFFIX_TAIL = (
    "vertical 9:16 framing with the subject centred. Ambient sound only, no dialogue. "
    "Avoid subtitles, captions, watermark, text overlay, logos."
)
_DEFAULT_LOOK, _DEFAULT_COLOUR, _DEFAULT_LENS = (
    "Photorealistic documentary news B-roll", "natural colour grade", "shallow depth of field"
)
# The suffix of a project with no style lock (StyleLock().suffix()).
STYLE_SUFFIX = f"{_DEFAULT_LOOK}, {_DEFAULT_COLOUR}, {_DEFAULT_LENS}, {_SUFFIX_TAIL}"


def _clean_style(value: str) -> str:
    # Quotation marks invite on-screen text; a trailing full stop would break the one-sentence suffix.
    value = re.sub(r"[\"“”«»„]", "", value or "")
    return re.sub(r"\s+", " ", value).strip().rstrip(".,;")


@dataclass(frozen=True)
class StyleLock:
    """Project-wide look applied to every scene's prompt, so Hook, Main and CTA look like one video."""

    look: str = ""  # e.g. "documentary news B-roll"
    colour: str = ""  # e.g. "cool teal-and-amber grade"
    lens: str = ""  # e.g. "35mm, shallow depth of field"
    era: str = ""  # e.g. "present day"
    seed: int | None = None  # passed to Kie by the caller, not written into the text

    def suffix(self) -> str:
        """The one identical style sentence every prompt of the project ends with."""
        look = _clean_style(self.look) or _DEFAULT_LOOK
        parts = [
            # The person's words verbatim (they search for them); "Style:" starts the sentence when they don't.
            look if not look[0].islower() else f"Style: {look}",
            _clean_style(self.colour) or _DEFAULT_COLOUR,
            _clean_style(self.lens) or _DEFAULT_LENS,
        ]
        if _clean_style(self.era):
            parts.append(_clean_style(self.era))
        return ", ".join(parts) + ", " + _SUFFIX_TAIL


def without_suffix(text: str, suffix: str) -> str:
    """The prompt's own part: the style sentence cut out wherever (and however often) it was written."""
    body = text.replace(suffix, " ")
    head = ", ".join(suffix.split(", ")[:2])  # look and colour: specific enough not to occur in the prompt itself
    cut = body.find(head)  # a paraphrased style sentence: drop it from its first words on
    if cut > 0:
        body = body[:cut]
    tail = body.find(_SUFFIX_TAIL[:40])  # an older style lock's sentence (the look changed since): drop it too
    if tail > 0:
        start = body.rfind(". ", 0, tail)
        body = body[: start + 1] if start >= 0 else body[:tail]
    return re.sub(r"\s+", " ", body).strip()
