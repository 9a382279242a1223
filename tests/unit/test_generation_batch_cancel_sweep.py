"""Generation's rules against fakes of every port (issue 13): Generate All, cancel and the sweep. What
is asserted is what a person would see: the stored scene, the Kie calls made (or not), the history
written, the poll loops started. No AWS stub, no sleeps (tests/unit/generation_world.py: the fakes
and the clock)."""

from __future__ import annotations

import pytest

from broll_common import config
from broll_common.dal import projects as storage
from broll_common.logic import sweep as scheduled_sweep
from broll_common.logic.generation import cancel, generate_all, start_generation, sweep
from broll_common.logic.generation.loop import SUBMIT_GRACE_S
from broll_common.logic.generation.settle import UNKNOWN_OUTCOME, Settled, settle
from broll_common.models.domain import SceneSlot, SceneStatus
from broll_common.models.errors import Conflict

from tests.unit.fakes import FakeKie
from tests.unit.generation_world import (  # noqa: F401 - the fixtures (world needs clock), by name
    NOW, OWNER, P, clock, generating, long_scene, queued, scene, unreachable, world,
)


# ---------------------------------------------------------------- Generate All


def test_generate_all_claims_every_startable_scene_and_says_why_it_skipped_the_others(world):
    world.projects.add(P, [
        scene("hook"), scene("main", status=SceneStatus.COMPLETED, videoKey="m.mp4"),
        generating("cta", generation=4), scene("other", status=SceneStatus.FAILED, generation=2, error="x"),
    ])
    result = generate_all(P, OWNER)
    assert [s.sceneId for s in result.started] == ["hook", "other"]
    assert result.skipped == [{"sceneId": "main", "reason": "completed"}, {"sceneId": "cta", "reason": "generating"}]
    hook, other = world.stored("hook"), world.stored("other")
    assert (hook.status, hook.generation, hook.queued) == (SceneStatus.GENERATING, 1, True)
    assert (other.generation, other.error) == (3, None)
    assert world.stored("cta").generation == 4 and world.stored("main").status == SceneStatus.COMPLETED
    assert sorted(name for name, _ in world.loops.started) == ["p-hook-g1", "p-other-g3"]
    assert all(state["taskId"] is None for _, state in world.loops.started)
    assert world.kie.submitted == []  # each loop submits on its own turn


def test_generate_all_honours_the_clip_cap_in_timeline_order(world):
    world.projects.add(P, [scene("hook"), scene("main"), scene("cta")])
    result = generate_all(P, OWNER, max_clips=2)
    assert [s.sceneId for s in result.started] == ["hook", "main"]
    assert result.skipped == [{"sceneId": "cta", "reason": "budget cap reached"}]
    assert world.stored("cta").status == SceneStatus.IDLE


def test_a_scene_that_moved_on_during_generate_all_is_skipped_and_the_rest_claimed(world, monkeypatch):
    world.projects.add(P, [scene("hook"), scene("main")])
    before = world.projects.load_project(P, owner=OWNER)
    world.kie.submits = ["veo_1"]
    start_generation(P, "main", owner=OWNER)  # claimed by a click after Generate All read the project
    monkeypatch.setattr(world.projects, "load_project", lambda project_id, owner: before)
    result = generate_all(P, OWNER)
    assert [s.sceneId for s in result.started] == ["hook"]
    assert result.skipped == [{"sceneId": "main", "reason": "changed meanwhile"}]
    assert world.stored("main").taskId == "veo_1" and world.stored("main").generation == 1


def test_generate_all_spreads_first_turns_over_the_rate_windows(world, monkeypatch):
    monkeypatch.setenv("KIE_SUBMITS_PER_WINDOW", "2")
    config.reset_settings()
    world.projects.add(P, [scene(f"s{i}") for i in range(5)])
    generate_all(P, OWNER)
    waits = sorted(state["waitSeconds"] for _, state in world.loops.started)
    assert waits[0] == waits[1] < waits[2] == waits[3] < waits[4]


# ---------------------------------------------------------------- cancel


def test_cancel_puts_a_generating_scene_back_to_idle_and_a_late_result_is_ignored(world):
    s = generating(generation=3)
    world.projects.add(P, [s])
    view = cancel(P, "main", OWNER)
    assert view.status == SceneStatus.IDLE and view.generation == 4 and view.taskId is None
    stored = world.stored()
    assert (stored.status, stored.generation, stored.taskId, stored.startedAt) == (SceneStatus.IDLE, 4, None, None)
    assert world.history.of("cancelled") == [{"taskId": "veo_1", "prompt": s.aiPrompt, "note": view.statusNote}]
    assert settle(SceneSlot(P, 0, s, "u"), FakeKie.success("veo_1")) is Settled.FINISHED  # the cancelled task finishes late
    assert world.stored().status == SceneStatus.IDLE and world.stored().videoKey is None


@pytest.mark.parametrize("task_id", ["veo_1", None], ids=["sent", "queued"])
def test_a_cancel_is_answered_when_the_ledger_cannot_be_reached_after_the_scene_is_idle(world, monkeypatch, task_id):
    world.projects.add(P, [generating(task_id=task_id, keyOwner="system", submittingAt=None if task_id else NOW - 5)])
    for name in ("price", "release"):
        monkeypatch.setattr(world.usage, name, unreachable)
    view = cancel(P, "main", OWNER)
    assert view.status == SceneStatus.IDLE and world.stored().status == SceneStatus.IDLE
    assert world.stored().submittingAt is None
    if task_id:  # the note says the configured price
        assert f"about {config.settings().kie_credits_per_clip:,.0f} credits" in view.statusNote
    assert world.history.kinds() == ["cancelled"]


def test_cancel_of_a_scene_that_is_not_generating_is_a_conflict(world):
    world.projects.add(P, [scene(status=SceneStatus.COMPLETED)])
    with pytest.raises(Conflict, match="This scene is not generating, so there is nothing to cancel.") as caught:
        cancel(P, "main", OWNER)
    assert caught.value.status == 409 and world.history.entries == [] and world.projects.writes == []


# ---------------------------------------------------------------- the sweep


def test_a_due_batch_sees_the_scene_the_sweep_just_failed_and_starts_it_again(world, monkeypatch):
    """The work was read before the sweep failed the overdue scene: read as it was, the batch would
    find nothing to start and be taken off with nothing started."""
    overdue = generating(age=config.settings().generation_deadline_s + 10)
    world.projects.add(P, [overdue])
    world.kie.tasks = {"veo_1": FakeKie.generating("veo_1")}
    due = {"whenCreditsAllow": True}

    def sweep_work():
        scenes = world.projects.load_broll(P, owner=None).scenes  # as stored at each read
        return storage.SweepWork(generating=[(P, OWNER, 0, scenes[0])], scheduled=[(P, OWNER, due, scenes)])

    monkeypatch.setattr(world.projects, "sweep_work", sweep_work)
    monkeypatch.setattr(storage, "replace_part", lambda *a, **k: None)  # the schedule taken off
    result = scheduled_sweep.run()
    assert (result["failed"], result["batches"]) == (1, {"due": 1, "started": 1, "waiting": 0})
    main = world.stored()
    assert (main.status, main.generation) == (SceneStatus.GENERATING, 2)  # failed at 1, started again at 2


def test_one_sweep_reads_its_work_once_for_the_stuck_scenes_and_the_due_batches(world, monkeypatch):
    world.projects.add(P, [generating(age=100), scene("hook")])
    world.kie.tasks = {"veo_1": FakeKie.generating("veo_1")}
    record = world.projects.load_broll(P, owner=None)
    reads = []

    def sweep_work():
        reads.append(1)
        return storage.SweepWork(generating=[(P, OWNER, 0, record.scenes[0])],
                                 scheduled=[(P, OWNER, {"whenCreditsAllow": True}, record.scenes)])

    monkeypatch.setattr(world.projects, "sweep_work", sweep_work)
    monkeypatch.setattr(storage, "replace_part", lambda *a, **k: None)  # the schedule taken off
    result = scheduled_sweep.run()
    assert reads == [1]  # one index query and one BatchGetItem serve both parts
    assert (result["restarted"], result["batches"]) == (1, {"due": 1, "started": 1, "waiting": 0})
    assert world.stored("hook").status == SceneStatus.GENERATING  # the due batch started what it could



def test_the_sweep_restarts_a_dead_loop_and_keeps_its_name(world):
    world.projects.add(P, [generating(age=100)])
    world.kie.tasks = {"veo_1": FakeKie.generating("veo_1")}
    assert sweep(NOW) == {"checked": 1, "settled": 0, "restarted": 1, "failed": 0, "queued": 0}
    [(name, state)] = world.loops.started
    assert name.startswith("p-main-g1-r") and state["taskId"] == "veo_1" and state["attempt"] == 1
    assert world.stored().pollExecution == name
    assert sweep(NOW)["restarted"] == 0  # that loop is alive now


def test_the_sweep_settles_a_task_whose_loop_died(world):
    world.projects.add(P, [generating(age=100)])
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert sweep(NOW)["settled"] == 1 and world.loops.started == []
    assert world.stored().status == SceneStatus.COMPLETED


def test_the_sweep_leaves_a_scene_whose_loop_is_alive(world):
    world.projects.add(P, [generating(age=100)])
    world.loops.statuses["p-main-g1"] = "RUNNING"
    assert sweep(NOW) == {"checked": 1, "settled": 0, "restarted": 0, "failed": 0, "queued": 0}
    assert world.kie.looked_up == []


def test_the_sweep_restarts_a_loop_even_when_kie_is_down(world):
    world.projects.add(P, [generating(age=100)])
    world.kie.tasks = {"veo_1": FakeKie.unavailable(503)}
    assert sweep(NOW)["restarted"] == 1 and world.stored().status == SceneStatus.GENERATING


def test_the_sweep_fails_an_overdue_scene(world):
    world.projects.add(P, [generating(age=1000)])
    assert sweep(NOW)["failed"] == 1
    assert world.stored().error == "Kie.ai did not finish this clip within 15 minutes. Retry to try again."
    assert world.kie.looked_up == []


def test_the_sweep_fails_a_submit_whose_outcome_never_arrived(world):
    world.projects.add(P, [generating(task_id=None, age=SUBMIT_GRACE_S + 1), generating("cta", task_id=None, age=10)])
    assert sweep(NOW) == {"checked": 2, "settled": 0, "restarted": 0, "failed": 1, "queued": 2}
    assert world.stored().error == UNKNOWN_OUTCOME and "Retry may charge again." in UNKNOWN_OUTCOME
    assert world.stored("cta").status == SceneStatus.GENERATING  # still within the grace
    assert world.kie.submitted == []  # never resubmitted


def test_the_sweep_leaves_a_queued_scene_whose_loop_waits_for_a_slot(world):
    world.projects.add(P, [queued(age=600)])
    world.loops.statuses["p-main-g1"] = "RUNNING"
    counts = sweep(NOW)
    assert counts["failed"] == counts["restarted"] == 0 and counts["queued"] == 1
    assert world.stored().status == SceneStatus.GENERATING


WAITING = {"reason": "kie_down", "since": NOW - 500, "nextTryAt": NOW + 20}


@pytest.mark.parametrize("fields", [{"waiting": WAITING}, {}], ids=["waiting-for-kie", "generate-all"])
def test_the_sweep_gives_a_queued_scene_whose_loop_died_a_new_loop_not_a_failure(world, fields):
    world.projects.add(P, [queued(age=600, **fields)])
    assert sweep(NOW) == {"checked": 1, "settled": 0, "restarted": 1, "failed": 0, "queued": 1}
    [(name, state)] = world.loops.started
    assert name.startswith("p-main-g1-r") and state["taskId"] is None
    planned = 20 if fields else 0  # its next try as it was planned, spread by a few seconds
    assert planned + 1 <= state["waitSeconds"] <= planned + 5
    stored = world.stored()
    assert stored.status == SceneStatus.GENERATING and stored.error is None and stored.pollExecution == name
    assert world.kie.submitted == [] and world.history.entries == []
    assert sweep(NOW)["restarted"] == 0  # its new loop is alive


def test_the_sweep_waits_out_the_grace_before_giving_a_queued_scene_a_loop(world):
    world.projects.add(P, [queued(age=SUBMIT_GRACE_S - 1, waiting=WAITING)])  # its loop may be starting
    assert sweep(NOW)["restarted"] == 0 and world.loops.started == []


def test_the_sweep_settles_a_sub_shot_of_a_dead_loop_and_restarts_it_to_submit_the_next(world):
    s = long_scene(age=100)
    world.projects.add(P, [s])
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert sweep(NOW) == {"checked": 1, "settled": 0, "restarted": 1, "failed": 0, "queued": 0}
    [(_, state)] = world.loops.started
    assert state["taskId"] is None and world.stored().plan[0].videoKey is not None


def test_the_sweep_fails_a_queued_scene_whose_dead_loop_left_its_submit_mark(world):
    """Its turn died between Kie's answer and the task id's write: Kie may have the task."""
    long_ago = NOW - config.settings().kie_timeout_s - SUBMIT_GRACE_S - 1
    world.projects.add(P, [queued(age=600, waiting=WAITING, submittingAt=long_ago)])
    assert sweep(NOW) == {"checked": 1, "settled": 0, "restarted": 0, "failed": 1, "queued": 1}
    assert world.stored().error == UNKNOWN_OUTCOME and world.stored().submittingAt is None
    assert world.loops.started == [] and world.kie.submitted == []


def test_the_sweep_leaves_a_submit_marked_moments_ago(world):
    world.projects.add(P, [queued(age=600, waiting=WAITING, submittingAt=NOW - 5)])  # it may still be under way
    counts = sweep(NOW)
    assert counts["restarted"] == counts["failed"] == 0 and world.loops.started == []
    assert world.stored().status == SceneStatus.GENERATING
