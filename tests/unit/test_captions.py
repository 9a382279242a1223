"""Captions (logic/captions.py): lines of 2-4 words inside their scenes, the ASS styles and
karaoke tags, and the SRT."""

from __future__ import annotations

import re

import pytest

from broll_common.logic import captions
from broll_common.models.domain import CaptionSettings, Scene, TimeRange

TEXTS = [
    "Night trains are back in Europe.",
    "Sleeper routes now link twelve capitals, and bookings doubled since last spring across the continent.",
    "Book early.",
]


def scenes() -> list[Scene]:
    edges = [(0.0, 3.2), (3.2, 14.5), (14.5, 16.0)]
    return [Scene(sceneId=f"s{i}", sceneTitle=f"S{i}", text=t, timeRange=TimeRange(start=a, end=b, label=""))
            for i, (t, (a, b)) in enumerate(zip(TEXTS, edges))]


def _inside(line, scene_list):
    return any(s.timeRange.start - 1e-6 <= line.start and line.end <= s.timeRange.end + 1e-6 for s in scene_list)


def test_spread_lines_have_two_to_four_words_and_lie_inside_their_scenes():
    lines = captions.caption_lines(scenes())
    assert " ".join(line.text for line in lines).split() == " ".join(TEXTS).split()
    assert all(2 <= len(line.words) <= 4 for line in lines)
    assert all(_inside(line, scenes()) for line in lines)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(lines, lines[1:]))
    # The last word of each scene ends with the scene.
    assert lines[-1].end == 16.0


def test_a_longer_word_gets_a_longer_share_of_its_scene():
    (scene,) = [Scene(sceneId="a", sceneTitle="A", text="a extraordinary", timeRange=TimeRange(start=0, end=13, label=""))]
    (short, long), = [captions.spread(scene)]
    assert (short[2] - short[1]) * 13 == pytest.approx(long[2] - long[1], abs=1e-2)


def test_word_timings_are_used_when_given_and_clamped_to_their_scene():
    words = [{"word": w, "start": 0.4 * i, "end": 0.4 * i + 0.35} for i, w in enumerate("Night trains are back now".split())]
    words.append({"word": "late", "start": 3.1, "end": 3.6})  # said across the boundary at 3.2: its middle is in s1
    words.append({"word": "gone", "start": 30.0, "end": 30.5})  # after the timeline: dropped
    lines = captions.caption_lines(scenes()[:2], words)
    assert [line.text for line in lines] == ["Night trains are", "back now", "late"]
    assert lines[0].words[0] == ("Night", 0.0, 0.35)
    assert lines[-1].start == 3.2 and lines[-1].end == 3.6
    assert all(_inside(line, scenes()) for line in lines)


@pytest.mark.parametrize("count", range(2, 30))
def test_every_line_size_is_two_to_four_words(count):
    chunks = captions._chunks(list(range(count)))
    assert all(2 <= len(c) <= 4 for c in chunks) and sum(chunks, []) == list(range(count))


def test_the_ass_has_the_output_size_the_font_the_outline_and_the_safe_area():
    doc = captions.ass_document(captions.caption_lines(scenes()), CaptionSettings(), 1080, 1920)
    assert "PlayResX: 1080" in doc and "PlayResY: 1920" in doc
    style = next(line for line in doc.splitlines() if line.startswith("Style: "))
    fields = style[len("Style: "):].split(",")
    assert fields[1] == "DejaVu Sans" and fields[7] == "-1"  # bold
    size, outline, alignment, margin_v = int(fields[2]), int(fields[16]), fields[18], int(fields[21])
    assert size >= 80 and outline >= 6  # legible on a phone
    assert alignment == "2" and 0.2 * 1920 <= margin_v <= 0.34 * 1920  # lower third, above the platforms' bottom bar
    centre = captions.ass_document([], CaptionSettings(position="centre", size="large"), 720, 1280)
    fields = next(line for line in centre.splitlines() if line.startswith("Style: ")).split(",")
    assert fields[18] == "5" and int(fields[2]) > 0.05 * 1280


def test_karaoke_tags_light_each_word_and_add_up_to_the_line():
    lines = captions.caption_lines(scenes())
    doc = captions.ass_document(lines, CaptionSettings(highlight=True), 1080, 1920)
    events = [line for line in doc.splitlines() if line.startswith("Dialogue:")]
    assert len(events) == len(lines)
    for event, line in zip(events, lines):
        ticks = [int(t) for t in re.findall(r"\{\\k(\d+)\}", event)]
        assert len(ticks) == len(line.words)
        assert sum(ticks) == round(line.end * 100) - round(line.start * 100)
    plain = captions.ass_document(lines, CaptionSettings(highlight=False), 1080, 1920)
    assert "\\k" not in plain and "Night trains are" in plain


def test_ass_text_cannot_carry_override_tags():
    scene = Scene(sceneId="a", sceneTitle="A", text=r"{\b0}hack \N me now", timeRange=TimeRange(start=0, end=2, label=""))
    doc = captions.ass_document(captions.caption_lines([scene]), CaptionSettings(highlight=False), 1080, 1920)
    event = next(line for line in doc.splitlines() if line.startswith("Dialogue:"))
    assert "{" not in event.split(",,", 1)[1] and "\\" not in event


def test_the_srt_numbers_its_lines_and_times_them_inside_their_scenes():
    lines = captions.caption_lines(scenes())
    srt = captions.srt_document(lines)
    blocks = srt.strip().split("\n\n")
    assert len(blocks) == len(lines)
    first = blocks[0].splitlines()
    assert first[0] == "1" and first[1].startswith("00:00:00,000 --> 00:00:0") and first[2] == lines[0].text
    last = blocks[-1].splitlines()[1]
    assert last.endswith("--> 00:00:16,000")
