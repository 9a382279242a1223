"""Scene time ranges: stage 4's timings when complete, else proportional to word counts."""

import pytest

from broll_common.models.api import EditedScene, SceneTiming
from broll_common.logic.timeline import clock, proportional_ranges, ranges_for, scene_id, scene_type, time_range


def test_proportional_ranges_cover_the_duration():
    texts = ["one two three", "four five six seven eight six", "nine"]
    ranges = proportional_ranges(texts, 50.0)
    assert ranges[0].start == 0
    assert ranges[-1].end == pytest.approx(50.0)
    for prev, nxt in zip(ranges, ranges[1:]):
        assert nxt.start == pytest.approx(prev.end, abs=0.01)
    assert sum(r.end - r.start for r in ranges) == pytest.approx(50.0, abs=0.02)


def test_proportional_ranges_follow_word_counts():
    # 10 + 20 + 10 words over 40 s -> 10 s, 20 s, 10 s.
    texts = [" ".join(["w"] * 10), " ".join(["w"] * 20), " ".join(["w"] * 10)]
    ranges = proportional_ranges(texts, 40.0)
    assert [(r.start, r.end) for r in ranges] == [(0, 10), (10, 30), (30, 40)]


def test_proportional_ranges_uneven_duration_sum():
    texts = ["a b c", "d e f g", "h i j k l m n"]
    ranges = proportional_ranges(texts, 37.3)
    lengths = [r.end - r.start for r in ranges]
    assert sum(lengths) == pytest.approx(37.3, abs=0.02)
    assert lengths[0] < lengths[1] < lengths[2]
    assert lengths[2] == pytest.approx(37.3 * 7 / 14, abs=0.02)


def test_empty_text_still_gets_time():
    ranges = proportional_ranges(["", "one"], 10.0)
    assert ranges[0].end - ranges[0].start == pytest.approx(5.0)
    assert ranges[1].end == pytest.approx(10.0)


def test_stage4_timings_used_when_every_scene_has_one():
    timings = [
        SceneTiming(sceneId="hook", start=0, end=2.5),
        SceneTiming(sceneId="main", start=2.5, end=20),
        SceneTiming(sceneId="cta", start=20, end=31),
    ]
    # Texts would give a very different split: make sure the timings win.
    ranges = ranges_for(["hook", "main", "cta"], ["a", "b", " ".join(["w"] * 100)], 31.0, timings)
    assert [(r.start, r.end) for r in ranges] == [(0, 2.5), (2.5, 20), (20, 31)]
    assert ranges[0].label == "0:00–0:02"


def test_stage4_timings_follow_scene_order_not_timing_order():
    timings = [SceneTiming(sceneId="b", start=5, end=10), SceneTiming(sceneId="a", start=0, end=5)]
    ranges = ranges_for(["a", "b"], ["x", "y"], 10.0, timings)
    assert [(r.start, r.end) for r in ranges] == [(0, 5), (5, 10)]


def test_timings_clamped_to_audio_duration():
    timings = [SceneTiming(sceneId="a", start=0, end=5), SceneTiming(sceneId="b", start=5, end=99)]
    ranges = ranges_for(["a", "b"], ["x", "y"], 12.0, timings)
    assert ranges[1].end == 12.0


def test_partial_timings_fall_back_to_proportional():
    timings = [SceneTiming(sceneId="a", start=0, end=1)]
    ranges = ranges_for(["a", "b"], ["one two three", "four"], 20.0, timings)
    assert [(r.start, r.end) for r in ranges] == [(0, 15), (15, 20)]
    assert ranges_for(["a", "b"], ["x", "y"], 20.0, None) == ranges_for(["a", "b"], ["x", "y"], 20.0, [])


def test_labels_use_minutes_seconds_and_en_dash():
    r = time_range(3, 18)
    assert r.label == "0:03–0:18"
    assert "\u2013" in r.label and "-" not in r.label
    assert time_range(59.5, 125.2).label == "0:59–2:05"
    assert clock(0) == "0:00"
    assert clock(600) == "10:00"
    # Floating point just below a whole second still shows that second.
    assert clock(2.9999999) == "0:03"


def test_time_range_rounds_to_hundredths():
    r = time_range(1.23456, 7.891011)
    assert (r.start, r.end) == (1.23, 7.89)


def test_ids_from_titles_are_unique_and_well_formed():
    import re

    titles = ["Hook", "Hook", "Hook!", "Main Point: Rates & Jobs", "", "???", "Hook"]
    taken: set[str] = set()
    ids = []
    for i, title in enumerate(titles):
        scene = EditedScene.model_construct(sceneId=None, sceneTitle=title, sceneType=None, text="t")
        new = scene_id(scene, i, taken)
        taken.add(new)
        ids.append(new)
    assert len(set(ids)) == len(ids)
    assert ids[0] == "hook" and ids[1] == "hook-2" and ids[2] == "hook-3"
    assert ids[3] == "main-point-rates-jobs"
    assert ids[4] == "scene" and ids[5] == "scene-2"
    for value in ids:
        assert re.fullmatch(r"^[a-z0-9][a-z0-9-]{0,39}$", value), value


def test_given_scene_id_is_kept():
    scene = EditedScene(sceneId="custom-1", sceneTitle="Hook", text="t")
    assert scene_id(scene, 0, set()) == "custom-1"


def test_long_title_id_is_truncated():
    scene = EditedScene(sceneTitle="A very long title that goes on and on forever and ever", text="t")
    value = scene_id(scene, 0, set())
    assert len(value) <= 30 and value.startswith("a-very-long-title")


def test_scene_type_from_title_or_explicit():
    assert scene_type(EditedScene(sceneTitle="Intro", text="t")) == "hook"
    assert scene_type(EditedScene(sceneTitle=" Outro ", text="t")) == "cta"
    assert scene_type(EditedScene(sceneTitle="Body", text="t")) == "main"
    assert scene_type(EditedScene(sceneTitle="Weather", text="t")) == "other"
    assert scene_type(EditedScene(sceneTitle="Intro", sceneType="cta", text="t")) == "cta"
