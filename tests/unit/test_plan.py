"""Scene-length planning (plan.py): how many clips cover a scene, their ranges, what a
finished or part-finished scene is made of."""

from __future__ import annotations

import pytest

from broll_common.logic import plan
from broll_common.models.domain import Scene, SceneStatus, SubShot, TimeRange


def scene(start: float, end: float, **fields) -> Scene:
    return Scene(sceneId="main", sceneTitle="Main", timeRange=TimeRange(start=start, end=end, label=""), **fields)


@pytest.mark.parametrize(
    ("seconds", "count"),
    [(3.0, 1), (8.0, 1), (10.0, 1), (10.5, 2), (16.0, 2), (16.5, 3), (20.0, 3), (24.0, 3), (24.1, 4), (200.0, 8)],
)
def test_one_clip_up_to_ten_seconds_then_one_per_eight(seconds, count):
    assert plan.auto_count(seconds) == count


def test_a_twenty_second_scene_is_laid_out_as_three_equal_sub_shots_that_end_on_the_scene():
    shots = plan.layout(scene(2.0, 22.0), 3)
    assert [(s.n, s.start, s.end) for s in shots] == [(1, 2.0, 8.667), (2, 8.667, 15.333), (3, 15.333, 22.0)]
    assert plan.layout(scene(2.0, 22.0), 1) == []


def test_the_persons_count_wins_over_the_length_and_is_bounded_by_two_second_cuts():
    assert plan.count_for(scene(0, 20, shotCount=1)) == 1
    assert plan.count_for(scene(0, 6, shotCount=2)) == 2
    assert plan.max_count(scene(0, 5.9)) == 2 and plan.max_count(scene(0, 1.5)) == 1 and plan.max_count(scene(0, 60)) == 8


def _shots(*keys):
    return [SubShot(n=i + 1, start=i * 5.0, end=(i + 1) * 5.0, videoKey=k) for i, k in enumerate(keys)]


def test_a_stored_plan_fits_only_with_the_same_count_and_ranges():
    assert plan.fits(scene(0, 20, plan=plan.layout(scene(0, 20), 3)))
    assert not plan.fits(scene(0, 20, plan=plan.layout(scene(0, 20), 2)))
    assert not plan.fits(scene(0, 20, shotCount=2, plan=plan.layout(scene(0, 20), 3)))
    assert plan.fits(scene(0, 8))  # one clip: no sub-shots wanted, none stored


def test_the_current_sub_shot_is_the_first_without_a_clip():
    part_way = scene(0, 15, plan=_shots("a", None, None))
    assert plan.current(part_way) == 1 and plan.shot_of(part_way) == (2, 3)
    assert plan.current(scene(0, 8)) is None and plan.shot_of(scene(0, 8)) is None


def test_a_part_finished_scene_needs_only_its_missing_clips_and_a_completed_one_all_again():
    shots = plan.layout(scene(0, 20), 3)
    shots[0].videoKey = "k1"
    failed = scene(0, 20, status=SceneStatus.FAILED, plan=shots)
    assert plan.clips_to_make(failed) == 2
    assert plan.clips_to_make(failed.model_copy(update={"status": SceneStatus.COMPLETED})) == 3
    assert plan.clips_to_make(scene(0, 6)) == 1


def test_a_completed_scene_is_cut_from_its_sub_shots_or_else_its_one_clip():
    made = scene(0, 15, status=SceneStatus.COMPLETED, videoKey="a", plan=_shots("a", "b", "c"))
    assert plan.segments(made) == [(0.0, 5.0, "a"), (5.0, 10.0, "b"), (10.0, 15.0, "c")]
    one_clip = scene(0, 15, status=SceneStatus.COMPLETED, videoKey="whole", plan=_shots(None, None, None))
    assert plan.segments(one_clip) == [(0.0, 15.0, "whole")]
    assert plan.segments(scene(0, 15, status=SceneStatus.FAILED, plan=_shots("a", None, None))) == []


def test_the_next_prompt_is_the_first_sub_shot_without_a_clip():
    shots = _shots("a", None)
    shots[0].prompt, shots[1].prompt, shots[1].promptSource = "first", "second", "claude"
    assert plan.next_prompt(shots) == {"aiPrompt": "second", "promptSource": "claude", "promptNote": None}
    shots[1].videoKey = "b"
    assert plan.next_prompt(shots)["aiPrompt"] == "first"


def test_a_sub_shot_is_stored_with_its_clip_key_and_shown_without_it():
    shot = SubShot(n=1, start=0, end=5, prompt="p", videoKey="projects/x/broll/main/t.mp4", status="ready", videoUrl="u")
    assert shot.stored() == {"n": 1, "start": 0.0, "end": 5.0, "prompt": "p", "videoKey": "projects/x/broll/main/t.mp4"}
    assert "videoKey" not in shot.model_dump()
