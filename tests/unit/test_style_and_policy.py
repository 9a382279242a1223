"""The style lock's version, out-of-date clips, and what counts as a content-policy refusal."""

from broll_common.logic import policy, style
from broll_common.clients.kie import KieRejected, KieUnavailable, TaskRecord, TaskState
from broll_common.models.domain import Scene, StyleLock, TimeRange


def scene(**kw):
    return Scene(sceneId="s", sceneTitle="S", timeRange=TimeRange(start=0, end=8, label=""), **kw)


def test_no_style_lock_has_the_empty_version_and_any_change_makes_a_new_one():
    assert style.version(StyleLock()) == ""
    film = style.version(StyleLock(look="archival 16mm film"))
    assert film and film != style.version(StyleLock(look="archival 16mm film", seed=12345))
    assert film == style.version(StyleLock(look="archival 16mm film"))


def test_a_clip_is_out_of_date_when_made_under_another_style():
    current = style.version(StyleLock(look="film noir"))
    assert style.is_out_of_date(scene(videoKey="k.mp4", styleVersion=None), current)
    assert not style.is_out_of_date(scene(videoKey="k.mp4", styleVersion=current), current)
    assert not style.is_out_of_date(scene(videoKey="k.mp4"), "")  # no lock then, no lock now
    assert not style.is_out_of_date(scene(styleVersion=None), current)  # no clip, nothing out of date


def test_only_a_400_is_a_content_policy_refusal():
    assert policy.refusal_reason(KieRejected(400, "flagged: public figure")) == "flagged: public figure"
    assert policy.refusal_reason(KieRejected(402, "no credits")) is None
    assert policy.refusal_reason(KieUnavailable(500, "boom")) is None
    failed = TaskRecord("t", TaskState.FAILED, error_code=400, error_message="flagged")
    assert policy.refusal_reason(failed) == "flagged"
    assert policy.refusal_reason(TaskRecord("t", TaskState.FAILED, error_code=501)) is None
    assert policy.refusal_reason(TaskRecord("t", TaskState.SUCCEEDED)) is None
