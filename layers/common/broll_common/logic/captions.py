"""Captions from the script, timed to the voice-over (pure rules): short lines of 2-4 words,
an ASS document for ffmpeg's `ass` filter (burned in) and an SRT for Download All.

Timing: stage 4's word timings when it gave them (each word falls in the scene its middle is
said in, clamped to that scene); otherwise each scene's words are spread over its time range,
each word's share weighted by its length. A line never crosses a scene boundary, so every line
lies inside its scene.

Legible on a phone: DejaVu Sans Bold (shipped in the layer, broll_common/fonts), large, white
with a thick black outline and a shadow, inside the platforms' safe area (clear of the bottom
fifth and the right-hand buttons): the lower third, or the middle (the seam of the split
frame). With `highlight`, each word lights up as it is said (karaoke \\k tags).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..models.domain import CaptionSettings, Scene

MAX_WORDS = 4
FONT_NAME = "DejaVu Sans"  # broll_common/fonts: DejaVuSans-Bold.ttf
# Font size as a share of the output's height.
SIZES = {"small": 0.036, "medium": 0.045, "large": 0.056}
LOWER_MARGIN = 0.25  # the caption's bottom sits a quarter of the height above the bottom edge
SIDE_MARGIN_L, SIDE_MARGIN_R = 0.08, 0.12  # the right-hand side holds the platforms' buttons
WHITE, YELLOW, BLACK, SHADOW = "&H00FFFFFF", "&H0000E5FF", "&H00000000", "&H80000000"  # ASS: &HAABBGGRR


@dataclass(frozen=True)
class CaptionLine:
    start: float
    end: float
    words: list[tuple[str, float, float]]  # (word, start, end), in spoken order

    @property
    def text(self) -> str:
        return " ".join(word for word, _, _ in self.words)


def _weight(word: str) -> int:
    return max(1, len(re.sub(r"\W", "", word)))


def spread(scene: Scene) -> list[tuple[str, float, float]]:
    """The scene's words over its range, each for a share weighted by its length."""
    words = scene.text.split()
    start, end = scene.timeRange.start, scene.timeRange.end
    total = sum(_weight(w) for w in words)
    timed, at = [], start
    for word in words:
        step = (end - start) * _weight(word) / total
        timed.append((word, round(at, 3), round(min(end, at + step), 3)))
        at += step
    return timed


def _timed_by_scene(scenes: list[Scene], word_timings: list) -> list[list[tuple[str, float, float]]]:
    """Stage 4's words, each in the scene its middle falls in, clamped to that scene."""
    per_scene: list[list[tuple[str, float, float]]] = [[] for _ in scenes]
    for item in word_timings:
        word, w_start, w_end = _fields(item)
        middle = (w_start + w_end) / 2
        index = next((i for i, s in enumerate(scenes) if middle < s.timeRange.end), None)
        if index is None or not word.strip():
            continue  # after the last scene: not on the timeline
        r = scenes[index].timeRange
        start, end = max(r.start, min(w_start, r.end)), max(r.start, min(w_end, r.end))
        per_scene[index].append((word.strip(), round(start, 3), round(end, 3)))
    return per_scene


def _fields(item) -> tuple[str, float, float]:
    if isinstance(item, dict):
        return str(item["word"]), float(item["start"]), float(item["end"])
    return str(item.word), float(item.start), float(item.end)


def _chunks(words: list, size: int = MAX_WORDS) -> list[list]:
    """Words into ceil(n / size) lines of near-equal length (2-4 words each when n >= 2)."""
    if not words:
        return []
    count = math.ceil(len(words) / size)
    base, extra = divmod(len(words), count)
    lines, at = [], 0
    for n in range(count):
        take = base + (1 if n < extra else 0)
        lines.append(words[at:at + take])
        at += take
    return lines


def caption_lines(scenes: list[Scene], word_timings: list | None = None) -> list[CaptionLine]:
    """The captions' lines in order: stage 4's word timings when given, else spread by length."""
    per_scene = _timed_by_scene(scenes, word_timings) if word_timings else [spread(s) for s in scenes]
    lines = []
    for words in per_scene:
        for chunk in _chunks(words):
            lines.append(CaptionLine(start=chunk[0][1], end=max(chunk[-1][2], chunk[0][1]), words=chunk))
    return lines


def caption_text(lines: list[CaptionLine]) -> list:
    """What the captions say and when, for the composite's material hash."""
    return [[line.start, line.end, line.text] for line in lines]


# -- ASS (burned in by ffmpeg's ass filter) ---------------------------------------------------


def _clock(seconds: float, per_second: int) -> tuple[int, int, int, int]:
    """(hours, minutes, seconds, fraction in 1/per_second) of a non-negative time."""
    ticks = max(0, round(seconds * per_second))
    hours, rest = divmod(ticks, 3600 * per_second)
    minutes, rest = divmod(rest, 60 * per_second)
    secs, fraction = divmod(rest, per_second)
    return hours, minutes, secs, fraction


def _ass_time(seconds: float) -> str:
    hours, minutes, secs, cs = _clock(seconds, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def _ass_escape(text: str) -> str:
    """A word as ASS text: no override blocks, no escapes, no hard breaks."""
    return text.replace("\\", "/").replace("{", "(").replace("}", ")").replace("\n", " ")


def style_line(settings: CaptionSettings, width: int, height: int) -> str:
    size = round(height * SIZES[settings.size])
    outline, shadow = max(2, round(size * 0.09)), max(1, round(size * 0.04))
    alignment, margin_v = (2, round(height * LOWER_MARGIN)) if settings.position == "lower" else (5, 0)
    # Before its word is said a syllable is SecondaryColour; once said, PrimaryColour (\k).
    primary, secondary = (YELLOW, WHITE) if settings.highlight else (WHITE, WHITE)
    fields = [
        "Caption", FONT_NAME, size, primary, secondary, BLACK, SHADOW,
        -1, 0, 0, 0, 100, 100, 0, 0, 1, outline, shadow, alignment,
        round(width * SIDE_MARGIN_L), round(width * SIDE_MARGIN_R), margin_v, 1,
    ]
    return "Style: " + ",".join(str(f) for f in fields)


def _karaoke(line: CaptionLine) -> str:
    """Each word with its \\k duration (centiseconds): from its start to the next word's (the
    last to the line's end), so the durations add up to the line."""
    parts, said = [], round(line.start * 100)
    starts = [start for _, start, _ in line.words[1:]] + [line.end]
    for (word, _, _), until in zip(line.words, starts):
        upto = max(said, round(until * 100))
        parts.append(f"{{\\k{upto - said}}}{_ass_escape(word)}")
        said = upto
    return " ".join(parts)


def ass_document(lines: list[CaptionLine], settings: CaptionSettings, width: int, height: int) -> str:
    """The captions as an ASS script at the output's size (PlayResX/Y)."""
    head = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        style_line(settings, width, height),
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    events = []
    for line in lines:
        if line.end <= line.start:
            continue
        text = _karaoke(line) if settings.highlight else _ass_escape(line.text)
        events.append(f"Dialogue: 0,{_ass_time(line.start)},{_ass_time(line.end)},Caption,,0,0,0,,{text}")
    return "\n".join(head + events) + "\n"


# -- SRT (Download All) ------------------------------------------------------------------------


def _srt_time(seconds: float) -> str:
    hours, minutes, secs, ms = _clock(seconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def srt_document(lines: list[CaptionLine]) -> str:
    blocks = [
        f"{n}\n{_srt_time(line.start)} --> {_srt_time(line.end)}\n{line.text}\n"
        for n, line in enumerate((line for line in lines if line.end > line.start), start=1)
    ]
    return "\n".join(blocks)
