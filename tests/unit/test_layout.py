"""The cut list (logic/layout.py): where the composite shows B-roll and in which frame."""

from __future__ import annotations

import pytest

from broll_common.logic import layout
from broll_common.logic.layout import Cut
from broll_common.models.domain import LayoutSettings, Scene, SubShot, TimeRange


def scene(scene_id: str, start: float, end: float, key: str | None = "k", shots: list | None = None) -> Scene:
    plan = [SubShot(n=i + 1, start=a, end=b, videoKey=f"{scene_id}-{i + 1}") for i, (a, b) in enumerate(shots or [])]
    return Scene(sceneId=scene_id, sceneTitle=scene_id, timeRange=TimeRange(start=start, end=end, label=""),
                 status="completed" if key or plan else "idle", videoKey=f"{scene_id}.mp4" if key else None,
                 plan=plan)


def demo() -> list[Scene]:
    return [scene("hook", 0, 5), scene("main", 5, 15), scene("cta", 15, 20)]


def test_cutaway_shows_the_presenter_first_then_the_broll_for_its_share():
    cuts = layout.cuts(demo(), LayoutSettings())
    assert cuts == [
        Cut(2.0, 5.0, "hook.mp4", "full"),
        Cut(9.0, 15.0, "main.mp4", "full"),
        Cut(17.0, 20.0, "cta.mp4", "full"),
    ]
    for index, s in enumerate(demo()):
        assert layout.presenter_share(s, index, LayoutSettings()) == pytest.approx(0.4)


@pytest.mark.parametrize("share", [0.2, 0.35, 0.6, 0.8])
def test_the_share_is_the_brolls_part_of_every_scene(share):
    settings = LayoutSettings(share=share)
    for index, s in enumerate(demo()):
        (cut,) = layout.scene_cuts(s, index, settings)
        length = s.timeRange.end - s.timeRange.start
        assert cut.end == s.timeRange.end
        assert cut.end - cut.start == pytest.approx(share * length, abs=1e-3)


def test_the_hook_opens_on_the_presenter_even_at_a_full_share():
    cuts = layout.cuts(demo(), LayoutSettings(share=1.0))
    assert cuts[0] == Cut(1.0, 5.0, "hook.mp4", "full")  # the first second is the presenter's
    assert cuts[1] == Cut(5.0, 15.0, "main.mp4", "full")  # later scenes: the whole share
    assert all(c.start > 0 for c in layout.cuts(demo(), LayoutSettings(share=0.95)))


def test_a_short_scene_stays_on_the_presenter_unless_overridden():
    scenes = [scene("hook", 0, 4), scene("quick", 4, 5.5), scene("cta", 5.5, 10)]
    assert [c.clip_key for c in layout.cuts(scenes, LayoutSettings())] == ["hook.mp4", "cta.mp4"]
    overridden = LayoutSettings(overrides={"quick": "cutaway"})
    assert [c.clip_key for c in layout.cuts(scenes, overridden)] == ["hook.mp4", "quick.mp4", "cta.mp4"]
    assert layout.cuts(scenes, LayoutSettings(overrides={"quick": "full"}))[1] == Cut(4, 5.5, "quick.mp4", "full")
    assert len(layout.cuts(scenes, LayoutSettings(minSceneSec=0))) == 3


def test_the_presenter_override_leaves_the_scene_without_broll():
    cuts = layout.cuts(demo(), LayoutSettings(overrides={"main": "presenter"}))
    assert [c.clip_key for c in cuts] == ["hook.mp4", "cta.mp4"]
    assert layout.presenter_share(demo()[1], 1, LayoutSettings(overrides={"main": "presenter"})) == 1.0


@pytest.mark.parametrize("name, frame", [("split", "split"), ("pip", "pip"), ("full", "full")])
def test_split_pip_and_full_cover_the_whole_scene_in_their_frame(name, frame):
    cuts = layout.cuts(demo(), LayoutSettings(layout=name))
    assert cuts == [Cut(0, 5, "hook.mp4", frame), Cut(5, 15, "main.mp4", frame), Cut(15, 20, "cta.mp4", frame)]


def test_an_override_gives_one_scene_another_layout():
    cuts = layout.cuts(demo(), LayoutSettings(layout="split", overrides={"cta": "cutaway", "hook": "pip"}))
    assert [(c.start, c.end, c.frame) for c in cuts] == [(0, 5, "pip"), (5, 15, "split"), (17, 20, "full")]


def test_scenes_without_broll_show_the_presenter():
    scenes = [scene("hook", 0, 5, key=None), scene("main", 5, 15)]
    assert layout.cuts(scenes, LayoutSettings(layout="full")) == [Cut(5, 15, "main.mp4", "full")]


def test_sub_shots_keep_their_order_inside_the_window_each_scaled_to_its_share():
    long = scene("main", 10, 30, key=None, shots=[(10, 16), (16, 24), (24, 30)])
    cuts = layout.cuts([scene("hook", 0, 10), long], LayoutSettings(share=0.5))
    main = cuts[1:]
    assert [c.clip_key for c in main] == ["main-1", "main-2", "main-3"]
    assert [(c.start, c.end) for c in main] == [(20.0, 23.0), (23.0, 27.0), (27.0, 30.0)]
    full = layout.cuts([long], LayoutSettings(layout="split"))
    assert [(c.start, c.end, c.frame) for c in full] == [(10, 16, "split"), (16, 24, "split"), (24, 30, "split")]


def test_cuts_never_overlap_and_stay_inside_their_scenes():
    scenes = [scene("hook", 0, 3.3), scene("main", 3.3, 17.9, key=None, shots=[(3.3, 8.17), (8.17, 13.03), (13.03, 17.9)]),
              scene("cta", 17.9, 21.2)]
    for settings in (LayoutSettings(share=s, layout=l) for s in (0.2, 0.55, 1.0) for l in ("cutaway", "split")):
        cuts = layout.cuts(scenes, settings)
        assert all(c.end > c.start for c in cuts)
        assert all(a.end <= b.start + 1e-9 for a, b in zip(cuts, cuts[1:]))
        for c in cuts:
            owner = next(s for s in scenes if s.timeRange.start <= c.start < s.timeRange.end)
            assert c.end <= owner.timeRange.end
