"""The breaker table's rules (submit lanes, fleet failures, callback trust) and the poll
loop's start/alive decisions, each against an in-memory fake of its port: no AWS, no moto."""

from __future__ import annotations

import pytest

from broll_common.logic import callback_health, rate_limit
from broll_common.logic.generation import executions
from broll_common import config
from broll_common.dal import projects as storage
from broll_common.clients.breaker import CIRCUIT_NAME, FleetFailures
from broll_common.clients.poll_loop import get_poll_loops
from broll_common.dal.coordination import get_coordination
from broll_common.models.domain import Scene, SceneSlot, TimeRange

from tests.unit.fakes import FakeCoordination, FakePollLoops


@pytest.fixture
def store():
    with get_coordination.use(FakeCoordination()) as fake:
        yield fake


@pytest.fixture
def loops():
    with get_poll_loops.use(FakePollLoops()) as fake:
        yield fake


# -- submit lanes (rate_limit) -------------------------------------------------------------


def test_admits_one_submit_per_lane_then_refuses_until_the_first_answer_leaves(store):
    t0 = 1000.0
    slots = [rate_limit.try_admit("key", now=t0 + i, limit=3) for i in range(3)]
    assert all(a.admitted for a in slots)
    assert len({s.slot.split(":")[0] for s in slots}) == 3  # three different lanes
    for i, admission in enumerate(slots):
        rate_limit.finish("key", admission.slot, now=t0 + i + 0.5)
    refused = rate_limit.try_admit("key", now=t0 + 5, limit=3)
    assert not refused.admitted
    assert refused.retry_after == pytest.approx(0.5 + rate_limit.WINDOW_S + rate_limit.MARGIN_S - 5)
    assert refused.free_in == pytest.approx([r + 5.6 for r in (0.0, 1.0, 2.0)])
    assert rate_limit.try_admit("key", now=t0 + 0.5 + rate_limit.WINDOW_S + rate_limit.MARGIN_S, limit=3).admitted


def test_a_lane_taken_by_another_instance_meanwhile_is_looked_at_again(store):
    store.lost_races = 1  # the lane read as free was held by someone else before our write
    admission = rate_limit.try_admit("key", now=50.0, limit=2)
    assert admission.admitted
    held = [lane for lane, state in store.lanes[rate_limit._window("key")].items() if state.get("h") == 50.0]
    assert len(held) == 2  # the other instance's lane and ours


def test_a_held_lane_whose_submit_never_answered_is_let_go_after_the_in_flight_limit(store):
    first = rate_limit.try_admit("key", now=0.0, limit=1)
    assert first.admitted
    waiting = rate_limit.try_admit("key", now=1.0, limit=1)
    assert not waiting.admitted  # in flight: expected once answered
    assert waiting.retry_after == pytest.approx(rate_limit.ANSWER_S + rate_limit.WINDOW_S + rate_limit.MARGIN_S - 1)
    again = rate_limit.try_admit("key", now=rate_limit.IN_FLIGHT_MAX_S + 0.5, limit=1)
    assert again.admitted
    rate_limit.finish("key", first.slot, now=rate_limit.IN_FLIGHT_MAX_S + 1)  # the dead submit's late finish
    lane = store.lanes[rate_limit._window("key")][0]
    assert lane["h"] == rate_limit.IN_FLIGHT_MAX_S + 0.5 and "d" not in lane  # left alone: not its lane any more


def test_keys_have_windows_of_their_own_and_are_never_stored(store):
    assert rate_limit.try_admit("key-a", now=0.0, limit=1).admitted
    assert rate_limit.try_admit("key-b", now=0.0, limit=1).admitted
    assert not any("key-" in window for window in store.lanes)


def test_the_limit_is_a_setting(store, monkeypatch):
    monkeypatch.setenv("KIE_SUBMITS_PER_WINDOW", "2")
    config.reset_settings()
    assert rate_limit.submits_per_window() == 2
    assert [rate_limit.try_admit("key", now=0.0).admitted for _ in range(3)] == [True, True, False]


# -- the fleet's failures (breaker) --------------------------------------------------------


def test_fleet_failures_add_up_in_one_window_and_start_again_after_it(store):
    fleet = FleetFailures(None, window_s=60)
    assert [fleet.record(now=100 + i) for i in range(3)] == [1, 2, 3]
    assert fleet.record(now=161) == 1  # the window began at 100: a new one
    fleet.reset()
    assert store.fleet[CIRCUIT_NAME]["failures"] == 0
    assert fleet.record(now=162) == 1


# -- callback trust (callback_health) ------------------------------------------------------


@pytest.fixture
def callbacks_on(monkeypatch):
    monkeypatch.setenv("KIE_CALLBACK_URL", "https://api.example/api/callbacks/kie")
    config.reset_settings()


@pytest.mark.parametrize(
    ("arrived", "missed", "trusted"),
    [
        (0.0, 0.0, False),  # no callback ever: poll densely
        (90.0, 0.0, False),  # one arrived, but before this clip was sent
        (110.0, 0.0, True),  # one arrived since this clip was sent
        (110.0, 120.0, False),  # ...and a look found one missing after it
        (130.0, 120.0, True),  # ...then callbacks came back
    ],
)
def test_callbacks_are_trusted_only_on_evidence_since_the_clip_was_sent(store, callbacks_on, arrived, missed, trusted):
    store.arrived, store.missed = arrived, missed
    assert callback_health.trusted(since=100.0) is trusted


def test_callbacks_are_never_trusted_without_a_callback_url(store, monkeypatch):
    monkeypatch.setenv("KIE_CALLBACK_URL", "")
    config.reset_settings()
    store.arrived = 1e12
    assert not callback_health.trusted(since=0)


def test_arrivals_and_misses_are_marked_now(store, callbacks_on, monkeypatch):
    monkeypatch.setattr(callback_health.time, "time", lambda: 500.0)
    callback_health.callback_arrived()
    assert callback_health.trusted(since=500.0)
    monkeypatch.setattr(callback_health.time, "time", lambda: 501.0)
    callback_health.callback_missed()
    assert (store.arrived, store.missed) == (500.0, 501.0)
    assert not callback_health.trusted(since=500.0)


# -- the poll loop (generation) ------------------------------------------------------------


def scene(**fields) -> Scene:
    base = {"sceneId": "hook", "sceneTitle": "Hook", "text": "Cranes at dawn.", "generation": 3,
            "taskId": "veo_1", "timeRange": TimeRange(start=0, end=5, label="0:00–0:05")}
    return Scene(**(base | fields))


@pytest.mark.parametrize(("status", "alive"), [(None, False), ("RUNNING", True), ("SUCCEEDED", False),
                                               ("FAILED", False), ("TIMED_OUT", False), ("ABORTED", False)])
def test_a_loop_is_alive_only_while_its_execution_runs(loops, status, alive):
    if status:
        loops.statuses["p-hook-g3"] = status
    assert executions._loop_alive("p", scene()) is alive


def test_a_restarted_loop_is_found_by_the_name_kept_on_the_scene(loops):
    loops.statuses["p-hook-g3"] = "FAILED"
    loops.statuses["p-hook-g3-r17"] = "RUNNING"
    assert executions._loop_alive("p", scene(pollExecution="p-hook-g3-r17"))
    assert not executions._loop_alive("p", scene())


def test_the_first_loop_of_a_generation_is_named_after_it_and_carries_the_poll_state(loops):
    executions._start_poll_loop(SceneSlot("p", 2, scene()), submit=True, first_wait=7)
    [(name, state)] = loops.started
    assert name == "p-hook-g3"
    assert state == {"projectId": "p", "sceneId": "hook", "sceneIndex": 2, "taskId": "veo_1", "generation": 3,
                     "attempt": 0, "waitSeconds": 7}


def test_a_restarted_loop_gets_a_new_name_kept_on_the_scene(loops, monkeypatch):
    writes = []
    monkeypatch.setattr(storage, "update_scene", lambda *args, **kwargs: writes.append((args, kwargs)))
    monkeypatch.setattr(executions.time, "time", lambda: 12.345)
    executions._start_poll_loop(SceneSlot("p", 2, scene()), attempt=1, restart=True)
    [(name, state)] = loops.started
    assert name == "p-hook-g3-r12345" and state["attempt"] == 1
    assert writes == [(("p", 2, "hook", {"pollExecution": name}), {"owner": None, "generation": 3})]


def test_a_loop_that_cannot_start_is_left_to_the_sweep(monkeypatch):
    with get_poll_loops.use(FakePollLoops(fail=RuntimeError("Step Functions is unavailable"))):
        executions._start_poll_loop(SceneSlot("p", 0, scene()), submit=True)  # logged, not raised


def test_a_restart_for_a_scene_settled_meanwhile_is_dropped(loops, monkeypatch):
    def stale(*args, **kwargs):
        raise storage.StaleScene("settled")

    monkeypatch.setattr(storage, "update_scene", stale)
    executions._start_poll_loop(SceneSlot("p", 0, scene()), restart=True)
    assert len(loops.started) == 1
