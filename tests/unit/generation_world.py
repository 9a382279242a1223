"""The world generation's rules run in for their unit tests: every port a fake (tests/unit/fakes.py),
the clock ours (time.time frozen, time.sleep recorded and advancing it), and scene builders."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import EndpointConnectionError

from broll_common import config
from broll_common.clients.breaker import get_kie
from broll_common.clients.poll_loop import get_poll_loops
from broll_common.dal.coordination import get_coordination
from broll_common.dal.history import get_history
from broll_common.dal.media import get_media
from broll_common.dal.projects import get_projects
from broll_common.dal.usage import get_usage
from broll_common.logic import plan
from broll_common.models.domain import Scene, SceneStatus, TimeRange

from tests.unit.fakes import FakeCoordination, FakeHistory, FakeKie, FakeMedia, FakePollLoops, FakeProjects, FakeUsage

NOW = 1_800_000_000.0
P, OWNER = "p", "u"


class Clock:
    def __init__(self):
        self.now = NOW
        self.slept: list[float] = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(time, "time", c.time)
    monkeypatch.setattr(time, "sleep", c.sleep)
    return c


class World:
    def __init__(self):
        self.projects, self.history, self.kie = FakeProjects(), FakeHistory(), FakeKie()
        self.coordination, self.loops, self.media = FakeCoordination(), FakePollLoops(), FakeMedia()
        self.usage = FakeUsage()

    def stored(self, scene_id="main") -> Scene:
        return self.projects.scene(P, scene_id)


@pytest.fixture
def world(clock):
    w = World()
    with get_projects.use(w.projects), get_history.use(w.history), get_kie.use(w.kie), \
            get_coordination.use(w.coordination), get_poll_loops.use(w.loops), get_media.use(w.media), \
            get_usage.use(w.usage):
        yield w


def unreachable(*args, **kwargs):
    """A DynamoDB call when the table cannot be reached: what boto3 raises (a BotoCoreError)."""
    raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")


def scene(scene_id="main", **fields) -> Scene:
    base = {"sceneId": scene_id, "sceneTitle": scene_id.title(), "text": "Cranes unload a ship at dawn.",
            "timeRange": TimeRange(start=0, end=6, label="0:00–0:06"),
            "aiPrompt": f"Cranes at dawn ({scene_id}), slow dolly.", "promptSource": "person"}
    return Scene(**(base | fields))


def generating(scene_id="main", task_id="veo_1", generation=1, age=30.0, **fields) -> Scene:
    return scene(scene_id, status=SceneStatus.GENERATING, taskId=task_id, generation=generation,
                 startedAt=NOW - age, **fields)


def state_of(s: Scene, index=0, **fields) -> dict:
    return {"projectId": P, "sceneId": s.sceneId, "sceneIndex": index, "taskId": s.taskId,
            "generation": s.generation, "attempt": 0, "waitSeconds": 1} | fields


def queued(**fields) -> Scene:
    return generating(task_id=None, queued=True, **fields)


def long_scene(**fields) -> Scene:
    s = scene(timeRange=TimeRange(start=0, end=20, label="0:00–0:20"))
    shots = plan.layout(s, plan.count_for(s))
    for shot in shots:
        shot.prompt, shot.promptSource = f"Sub-shot {shot.n}.", "person"
    return generating(timeRange=s.timeRange, plan=shots, aiPrompt="Sub-shot 1.", **fields)


@pytest.fixture
def callbacks_on(monkeypatch):
    monkeypatch.setenv("KIE_CALLBACK_URL", "https://api.example/kie/callback")
    config.reset_settings()
