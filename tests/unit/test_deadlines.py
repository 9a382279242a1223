"""When a generating scene is given up: from its submit, or (queued) after a longer wait."""

import pytest

from broll_common.config import reset_settings
from broll_common.logic.generation.loop import _overdue
from broll_common.models.domain import Scene, TimeRange


@pytest.fixture(autouse=True)
def deadlines(monkeypatch):
    monkeypatch.setenv("GENERATION_DEADLINE_S", "900")
    monkeypatch.setenv("QUEUE_DEADLINE_S", "3600")
    reset_settings()
    yield
    reset_settings()


def scene(**kw):
    return Scene(sceneId="s", sceneTitle="S", timeRange=TimeRange(start=0, end=8, label=""), status="generating", **kw)


def test_a_submitted_clip_is_given_up_fifteen_minutes_after_its_submit():
    submitted = scene(taskId="veo_task_1", startedAt=1000.0)
    assert _overdue(submitted, 1000.0 + 899) is None
    assert "did not finish this clip within 15 minutes" in _overdue(submitted, 1000.0 + 901)


def test_a_queued_clip_waits_longer_and_is_told_nothing_was_charged():
    queued = scene(startedAt=1000.0, queued=True)
    assert _overdue(queued, 1000.0 + 901) is None
    message = _overdue(queued, 1000.0 + 3601)
    assert "nothing was charged" in message and "60 minutes" in message
