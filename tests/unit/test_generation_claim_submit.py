"""Generation's rules against fakes of every port (issue 13): the claim, and submit (one scene now, or
on a queued scene's turn) with its rate-limit, breaker, timeout and refusal outcomes. What is
asserted is what a person would see: the stored scene, the Kie calls made (or not), the history
written, the poll loops started. No AWS stub, no sleeps (tests/unit/generation_world.py: the fakes
and the clock)."""

from __future__ import annotations

import pytest

from broll_common import config
from broll_common.clients.kie import MESSAGES, KieUnavailable
from broll_common.logic.generation import poll_step, start_generation
from broll_common.logic.generation import claim as claim_module
from broll_common.logic.generation.settle import UNKNOWN_OUTCOME
from broll_common.models.domain import SceneStatus
from broll_common.models.errors import Conflict

from tests.unit.fakes import FakeKie
from tests.unit.generation_world import (  # noqa: F401 - the fixtures (world needs clock), by name
    NOW, OWNER, P, callbacks_on, clock, generating, queued, scene, state_of, unreachable, world,
)


# ---------------------------------------------------------------- the claim


def test_the_claim_wins_once_and_a_double_click_starts_no_second_generation(world):
    world.projects.add(P, [scene()])
    world.kie.submits = ["veo_1"]
    first = start_generation(P, "main", owner=OWNER)
    assert first.status == SceneStatus.GENERATING and first.taskId == "veo_1" and first.generation == 1
    again = start_generation(P, "main", owner=OWNER)  # the second click: the scene is generating
    assert again.taskId == "veo_1" and again.generation == 1
    assert len(world.kie.submitted) == 1 and len(world.loops.started) == 1
    assert world.stored().generation == 1 and world.history.kinds() == ["generation"]


def test_the_request_that_loses_the_claim_race_answers_with_the_winners_task(world, monkeypatch):
    world.projects.add(P, [scene()])
    before = world.projects.load_project(P, owner=OWNER)  # what the second click read, before the first won
    world.kie.submits = ["veo_1"]
    start_generation(P, "main", owner=OWNER)
    monkeypatch.setattr(world.projects, "load_project", lambda project_id, owner: before)
    lost = start_generation(P, "main", owner=OWNER)
    assert world.projects.refused == 1  # its conditional claim (generation 0) was refused
    assert lost.taskId == "veo_1" and lost.generation == 1
    assert len(world.kie.submitted) == 1 and world.stored().generation == 1


def test_a_loser_waits_for_the_winners_task_id_without_really_sleeping(world, clock):
    world.projects.add(P, [generating(task_id=None)])  # claimed, the winner still submitting
    _, s, won = claim_module._claim(P, "main", False, OWNER)
    assert not won and s.taskId is None and len(clock.slept) == 40 and world.kie.submitted == []


def test_a_scene_with_a_clip_needs_regenerate_which_bumps_the_generation(world):
    world.projects.add(P, [scene(status=SceneStatus.COMPLETED, generation=2, videoKey="old.mp4", taskId="veo_old")])
    with pytest.raises(Conflict, match="This scene already has a clip. Use Regenerate to replace it."):
        start_generation(P, "main", owner=OWNER)
    assert world.kie.submitted == []
    world.kie.submits = ["veo_new"]
    s = start_generation(P, "main", owner=OWNER, regenerate=True)
    assert s.generation == 3 and s.taskId == "veo_new"
    stored = world.stored()
    assert stored.status == SceneStatus.GENERATING and stored.generation == 3 and stored.taskId == "veo_new"


# ---------------------------------------------------------------- submit, now (one scene)


def test_an_accepted_submit_stores_the_task_writes_history_and_starts_the_loop(world):
    world.projects.add(P, [scene()])
    world.kie.submits = ["veo_1"]
    start_generation(P, "main", owner=OWNER)
    stored = world.stored()
    assert stored.taskId == "veo_1" and stored.status == SceneStatus.GENERATING and stored.keyOwner == "system"
    [(key, prompt, kwargs)] = world.kie.submitted
    assert key == "system-key-0000" and prompt == scene().aiPrompt and kwargs["callback_url"] is None
    [entry] = world.history.of("generation")
    assert entry["taskId"] == "veo_1" and entry["prompt"] == scene().aiPrompt
    [(name, state)] = world.loops.started
    assert name == "p-main-g1" and state["taskId"] == "veo_1" and state["generation"] == 1


def test_the_owners_own_key_pays_when_they_set_one(world):
    world.kie.user_keys = {OWNER: "user-key-9999"}
    world.projects.add(P, [scene()])
    world.kie.submits = ["veo_1"]
    start_generation(P, "main", owner=OWNER)
    assert world.kie.submitted[0][0] == "user-key-9999"
    assert (world.stored().keyOwner, world.stored().keyLast4) == ("user", "9999")


def test_kies_429_is_waited_out_with_backoff_and_never_fails_the_scene(world, clock):
    world.projects.add(P, [scene()])
    world.kie.submits = [FakeKie.rate_limited(), FakeKie.rate_limited(), "veo_1"]
    s = start_generation(P, "main", owner=OWNER)
    assert s.taskId == "veo_1" and world.stored().status == SceneStatus.GENERATING
    assert len(world.kie.submitted) == 3 and len(clock.slept) == 2  # the backoff between the tries
    assert 0.5 <= clock.slept[0] <= 1.0 and 1.0 <= clock.slept[1] <= 2.0
    assert "failed" not in world.history.kinds()


NO_VERDICT = [
    FakeKie.timeout(),
    KieUnavailable(0, "network: RemoteProtocolError", may_have_started=True),  # the connection broke mid-answer
    KieUnavailable(504, "gateway timeout", may_have_started=True),
]


@pytest.mark.parametrize("answer", NO_VERDICT, ids=["read-timeout", "dropped", "gateway-timeout"])
def test_a_submit_that_gets_no_answer_fails_once_and_is_never_resubmitted(world, answer):
    world.projects.add(P, [scene()])
    world.kie.submits = [answer]
    s = start_generation(P, "main", owner=OWNER)
    assert s.status == SceneStatus.FAILED and s.error == UNKNOWN_OUTCOME and s.waiting is None
    assert world.stored().status == SceneStatus.FAILED and world.stored().error == UNKNOWN_OUTCOME
    assert len(world.kie.submitted) == 1 and world.loops.started == []
    assert world.history.of("failed")[0]["error"] == UNKNOWN_OUTCOME
    assert "Retry may charge again." in UNKNOWN_OUTCOME


# What Kie answers when it takes no work now (nothing started): the scene waits, it is not failed;
# (answers, why it waits, since when Kie is down: the breaker's opened_at, else this refusal).
NOT_TAKEN = {
    "5xx-envelope": (FakeKie.unavailable(500), "kie_down", None),
    "html-503": (KieUnavailable(503, "<html><body><h1>503 Service Temporarily Unavailable</h1>"), "kie_down", None),
    "maintenance-455": (FakeKie.unavailable(455), "kie_down", None),
    "unreachable": (KieUnavailable(0, "network: ConnectError"), "kie_down", None),
    "circuit-open": (FakeKie.circuit_open(NOW + 42, opened_at=NOW - 18), "kie_down", NOW - 18),
    "429-every-try": ([FakeKie.rate_limited()] * 4, "rate_limited", None),
}


@pytest.fixture
def queued_metrics(monkeypatch):
    from broll_common.logic.generation import submit

    seen = []
    monkeypatch.setattr(submit, "emit", lambda name, unit, value, **dims: seen.append((name, value, dims)))
    return seen


@pytest.mark.parametrize("answers, reason, since", NOT_TAKEN.values(), ids=NOT_TAKEN.keys())
def test_a_submit_kie_did_not_take_waits_and_its_loop_starts_it(world, clock, queued_metrics, answers, reason, since):
    world.projects.add(P, [scene()])
    world.kie.submits = list(answers) if isinstance(answers, list) else [answers]
    s = start_generation(P, "main", owner=OWNER)
    assert s.status == SceneStatus.GENERATING and s.taskId is None and s.error is None and s.progress == 0
    assert s.waiting.reason == reason and s.waiting.nextTryAt > clock.now
    assert s.waiting.since == (since or clock.now)
    assert "it starts by itself, nothing charged yet" in s.statusNote
    stored = world.stored()
    assert stored.queued and stored.waiting == s.waiting and stored.status == SceneStatus.GENERATING
    assert "failed" not in world.history.kinds()
    assert ("SubmitsQueued", 1, {"Reason": reason}) in queued_metrics
    [(name, state)] = world.loops.started
    assert state["taskId"] is None and state["waitSeconds"] == round(s.waiting.nextTryAt - clock.now)

    # Its loop's turn, once Kie takes work again: submitted, the wait cleared.
    clock.now = s.waiting.nextTryAt
    world.kie.submits = ["veo_1"]
    out = poll_step(state)
    assert out["taskId"] == "veo_1" and world.stored().taskId == "veo_1" and world.stored().waiting is None
    assert world.history.kinds() == ["generation"]


def test_an_open_circuit_wakes_the_loop_after_its_cool_down_with_jitter(world, clock):
    """Every waiting loop wakes a little after the cool-down, at its own moment: the first is
    the one probe the breaker lets through, the others find its answer."""
    waits = set()
    for attempt in range(20):
        world.projects.add(P, [scene()])
        world.kie.submits = [FakeKie.circuit_open(NOW + 42, opened_at=NOW - 18)]
        waits.add(start_generation(P, "main", owner=OWNER).waiting.nextTryAt - NOW)
    recovery = config.settings().breaker_recovery_timeout_s
    assert all(42 + 1 <= w <= 42 + recovery / 5 + 1 for w in waits) and len(waits) > 3


def test_a_refusal_of_the_request_itself_still_fails_at_once(world):
    world.projects.add(P, [scene()])
    world.kie.submits = [FakeKie.out_of_credits()]
    s = start_generation(P, "main", owner=OWNER)
    assert s.status == SceneStatus.FAILED and s.waiting is None and s.statusNote is None
    assert world.loops.started == []


def test_a_content_policy_refusal_is_rewritten_once_and_submitted_again(world):
    world.projects.add(P, [scene()])
    world.kie.submits = [FakeKie.refused(), "veo_2"]
    s = start_generation(P, "main", owner=OWNER)
    assert s.taskId == "veo_2" and s.status == SceneStatus.GENERATING
    first, second = (prompt for _, prompt, _ in world.kie.submitted)
    assert first == scene().aiPrompt and second != first
    stored = world.stored()
    assert stored.aiPrompt == second and stored.rewrite.fromPrompt == first
    assert stored.rewrite.reason == "flagged by content policy"
    assert world.history.kinds() == ["rewrite", "generation"]


def test_a_second_refusal_fails_the_scene_with_what_to_change(world):
    world.projects.add(P, [scene()])
    world.kie.submits = [FakeKie.refused(), FakeKie.refused()]
    s = start_generation(P, "main", owner=OWNER)
    assert s.status == SceneStatus.FAILED and s.error == MESSAGES[400]
    assert len(world.kie.submitted) == 2 and world.stored().error == MESSAGES[400]
    assert world.history.kinds() == ["rewrite", "failed"]


def test_out_of_credits_fails_at_once_without_a_rewrite(world):
    world.projects.add(P, [scene()])
    world.kie.submits = [FakeKie.out_of_credits()]
    s = start_generation(P, "main", owner=OWNER)
    assert s.error == "Your Kie.ai account is out of credits. Top up, then retry."
    assert len(world.kie.submitted) == 1 and world.history.kinds() == ["failed"]


# ---------------------------------------------------------------- submit, on a queued scene's turn


def test_a_queued_turn_submits_stores_the_task_and_starts_the_clip_clock(world, clock):
    world.projects.add(P, [queued(age=500)])
    world.kie.submits = ["veo_1"]
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "pending" and out["taskId"] == "veo_1" and out["attempt"] == 0
    stored = world.stored()
    assert stored.taskId == "veo_1" and stored.startedAt == clock.now
    assert world.history.of("generation")[0]["taskId"] == "veo_1"


def test_a_full_rate_window_only_lengthens_the_wait(world, monkeypatch):
    world.projects.add(P, [queued()])
    monkeypatch.setenv("KIE_SUBMITS_PER_WINDOW", "1")
    config.reset_settings()
    key = "system-key-0000"
    from broll_common.logic import rate_limit

    assert rate_limit.try_admit(key).admitted  # another loop holds the only lane
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "pending" and out["waitSeconds"] >= 1
    assert world.kie.submitted == [] and world.stored().status == SceneStatus.GENERATING


@pytest.mark.parametrize("answer, reason", [("rate_limited", "rate_limited"), ("unavailable", "kie_down")])
def test_a_busy_kie_on_a_queued_turn_waits_says_why_and_never_fails(world, clock, answer, reason):
    world.projects.add(P, [queued()])
    world.kie.submits = [getattr(FakeKie, answer)()]
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "pending" and out["waitSeconds"] >= 1
    stored = world.stored()
    assert stored.status == SceneStatus.GENERATING and stored.taskId is None and stored.error is None
    assert stored.waiting.reason == reason and stored.waiting.since == clock.now
    assert stored.waiting.nextTryAt == clock.now + out["waitSeconds"]
    assert world.history.entries == []


def test_a_queued_turn_keeps_when_kie_was_first_seen_down_and_backs_off(world, clock):
    world.projects.add(P, [queued()])
    world.kie.submits = [FakeKie.unavailable(500)] * 6
    state, waits = state_of(queued()), []
    for _ in range(6):
        state = poll_step(state)
        waits.append(state["waitSeconds"])
        clock.now += state["waitSeconds"]
    stored = world.stored()
    assert stored.waiting.since == NOW and stored.status == SceneStatus.GENERATING
    assert waits[-1] > waits[0]  # backoff (capped by the poll's longest wait)
    assert max(waits) <= config.settings().poll_max_wait_s


def test_an_open_circuit_waits_until_its_retry_time_and_a_little_more(world, clock):
    world.projects.add(P, [queued(waiting={"reason": "kie_down", "since": NOW - 30, "nextTryAt": NOW})])
    world.kie.submits = [FakeKie.circuit_open(NOW + 42, opened_at=NOW - 18)]
    out = poll_step(state_of(queued()))
    recovery = config.settings().breaker_recovery_timeout_s
    assert out["outcome"] == "pending" and 43 <= out["waitSeconds"] <= 42 + recovery / 5 + 1
    stored = world.stored()
    assert stored.waiting.since == NOW - 30  # first seen down before this cool-down
    assert stored.status == SceneStatus.GENERATING and world.history.entries == []


def test_a_loop_that_finds_the_cool_down_over_but_the_probe_elsewhere_looks_again_soon(world, clock):
    world.projects.add(P, [queued()])
    world.kie.submits = [FakeKie.circuit_open(NOW - 2, opened_at=NOW - 62)]  # half-open: another loop probes
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "pending" and 1 <= out["waitSeconds"] <= config.settings().poll_max_wait_s
    assert world.stored().waiting.since == NOW - 62


def test_the_queue_deadline_fails_a_waiting_scene_saying_nothing_was_charged(world, clock):
    deadline = config.settings().queue_deadline_s
    world.projects.add(P, [queued(age=deadline + 1, waiting={"reason": "kie_down", "since": NOW - deadline})])
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "done" and world.kie.submitted == []
    stored = world.stored()
    assert stored.status == SceneStatus.FAILED and "nothing was charged" in stored.error
    assert stored.waiting is None  # a failed scene no longer says it starts by itself


def test_a_wait_left_on_a_scene_that_moved_on_is_not_shown(world):
    from broll_common.logic.views import scene_view

    left = queued(waiting={"reason": "kie_down", "since": NOW}).model_copy(update={"status": SceneStatus.IDLE})
    view = scene_view(left)
    assert view.waiting is None and view.statusNote is None
    view = scene_view(queued(waiting={"reason": "busy", "since": NOW}))
    assert view.statusNote == "Waiting for a free Kie.ai slot; it starts by itself, nothing charged yet."
    assert view.progress == 0  # nothing is being made yet


def test_a_queued_submit_that_timed_out_fails_and_is_never_resubmitted(world):
    world.projects.add(P, [queued()])
    world.kie.submits = [FakeKie.timeout()]
    state = state_of(queued())
    out = poll_step(state)
    assert out["outcome"] == "done"
    assert world.stored().status == SceneStatus.FAILED and world.stored().error == UNKNOWN_OUTCOME
    assert poll_step(out | {"taskId": None})["outcome"] == "done"  # the loop's next turn finds it settled
    assert len(world.kie.submitted) == 1


def test_a_queued_refusal_is_rewritten_and_the_next_turn_submits_the_new_prompt(world):
    world.projects.add(P, [queued()])
    world.kie.submits = [FakeKie.refused(), "veo_2"]
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "pending" and out["waitSeconds"] == 1
    assert world.stored().rewrite is not None
    out = poll_step(out)
    assert out["taskId"] == "veo_2" and world.kie.submitted[1][1] == world.stored().aiPrompt != scene().aiPrompt


def test_a_second_queued_refusal_fails_the_scene(world):
    world.projects.add(P, [queued()])
    world.kie.submits = [FakeKie.refused(), FakeKie.refused()]
    out = poll_step(poll_step(state_of(queued())))
    assert out["outcome"] == "done" and world.stored().error == MESSAGES[400]
    assert world.history.kinds() == ["rewrite", "failed"]


def test_a_queued_turn_writes_the_prompt_its_claim_left_empty_before_submitting(world):
    world.projects.add(P, [queued(aiPrompt="", promptSource=None)])
    world.kie.submits = ["veo_1"]
    poll_step(state_of(queued()))
    [(_, prompt, _)] = world.kie.submitted
    assert prompt and world.stored().aiPrompt == prompt and world.stored().taskId == "veo_1"


# ---------------------------------------------------------------- the edges of a submit


def test_kies_429_on_every_try_queues_the_one_scene_submit_after_its_retries(world, clock):
    world.projects.add(P, [scene()])
    world.kie.submits = [FakeKie.rate_limited()] * 4
    s = start_generation(P, "main", owner=OWNER)
    assert s.status == SceneStatus.GENERATING and s.waiting.reason == "rate_limited"
    assert s.statusNote == "Waiting for a free Kie.ai slot; it starts by itself, nothing charged yet."
    assert len(world.kie.submitted) == 4 and len(clock.slept) == 3


def test_a_one_scene_submit_with_no_rate_slot_within_its_wait_queues_without_calling_kie(world, clock, monkeypatch):
    import time

    from broll_common.logic import rate_limit

    monkeypatch.setattr(time, "monotonic", clock.time)  # the 20 s wait for a slot, on our clock
    monkeypatch.setenv("KIE_SUBMITS_PER_WINDOW", "1")
    config.reset_settings()
    world.projects.add(P, [scene()])
    assert rate_limit.try_admit("system-key-0000").admitted  # another request holds the only lane
    s = start_generation(P, "main", owner=OWNER)
    assert s.status == SceneStatus.GENERATING and s.waiting.reason == "busy" and world.kie.submitted == []
    assert 19 <= clock.now - NOW <= 21  # it waited (on our clock) for a lane, then left it to its loop
    assert len(world.loops.started) == 1


def test_a_key_removed_between_the_claim_and_the_submit_fails_the_scene(world, monkeypatch):
    world.kie.user_keys = {OWNER: "user-key-9999"}
    world.projects.add(P, [scene()])
    claim_key = world.kie.key_for

    def removed_after_the_claim(user_id, owner=None):
        key = claim_key(user_id, owner)
        if owner is None:  # the claim's lookup finds the key, which the person removes right after
            world.kie.user_keys.clear()
        return key

    monkeypatch.setattr(world.kie, "key_for", removed_after_the_claim)
    s = start_generation(P, "main", owner=OWNER)
    assert s.status == SceneStatus.FAILED
    assert s.error == "This clip was started with your own Kie.ai key, which has since been removed."
    assert world.kie.submitted == [] and world.stored().status == SceneStatus.FAILED


def test_a_scene_cancelled_while_its_queued_submit_was_at_kie_keeps_the_task_and_its_loop_lands_it(world, monkeypatch):
    from broll_common.logic import ledger
    from broll_common.logic.generation import cancel

    released = []
    monkeypatch.setattr(ledger, "release", lambda slot, sent: released.append(sent))
    world.projects.add(P, [queued()])
    answers = []
    world.kie.submits = [lambda: (answers.append(cancel(P, "main", OWNER)), "veo_1")[1]]
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "pending" and out["taskId"] == "veo_1"  # its loop watches the paid task
    stored = world.stored()
    assert (stored.status, stored.taskId, stored.generation) == (SceneStatus.IDLE, None, 2)
    assert stored.lateTasks["veo_1"].generation == 1 and stored.lateTasks["veo_1"].loop == "p-main-g1"
    assert answers[0].statusNote == ("Cancelled. It may have reached Kie.ai as you cancelled: if it did, it is paid "
                                     "for and lands in this scene's History.")
    assert released == [True]  # its share stays counted
    assert world.history.kinds() == ["cancelled", "generation"]
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert poll_step(out)["outcome"] == "done"
    assert world.history.kinds() == ["cancelled", "generation", "clip"] and world.stored().lateTasks == {}


def test_a_one_scene_submit_cancelled_while_at_kie_keeps_the_task_and_answers_the_cancelled_scene(world):
    from broll_common.logic.generation import cancel

    world.projects.add(P, [scene()])
    notes = []

    def cancelled_meanwhile():
        assert world.stored().submittingAt == NOW  # marked: the cancel can tell it may be at Kie
        notes.append(cancel(P, "main", OWNER).statusNote)
        return "veo_1"

    world.kie.submits = [cancelled_meanwhile]
    s = start_generation(P, "main", owner=OWNER)  # no 409: the scene as it is now
    assert (s.status, s.generation, s.lateClips) == (SceneStatus.IDLE, 2, 1)
    assert notes[0].startswith("Cancelled. It may have reached Kie.ai as you cancelled")
    assert world.stored().lateTasks["veo_1"].generation == 1
    [(name, state)] = world.loops.started
    assert (name, state["taskId"], state["generation"]) == ("p-main-g1", "veo_1", 1)
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert poll_step(state)["outcome"] == "done"
    assert world.history.kinds() == ["cancelled", "generation", "clip"]


def test_a_one_scene_submit_clears_its_mark_with_the_task_id(world):
    world.projects.add(P, [scene()])
    world.kie.submits = ["veo_1"]
    start_generation(P, "main", owner=OWNER)
    assert world.stored().taskId == "veo_1" and world.stored().submittingAt is None


def test_a_throttled_task_id_write_is_tried_again(world, monkeypatch):
    world.projects.add(P, [queued()])
    world.kie.submits = ["veo_1"]
    write, failures = world.projects.update_scene, [RuntimeError("throttled")]

    def throttled_once(*args, **kwargs):
        if "taskId" in args[3] and failures:
            raise failures.pop()
        return write(*args, **kwargs)

    monkeypatch.setattr(world.projects, "update_scene", throttled_once)
    assert poll_step(state_of(queued()))["outcome"] == "pending"
    assert world.stored().taskId == "veo_1" and world.stored().submittingAt is None


def test_a_task_id_write_that_keeps_failing_hands_the_id_to_the_next_turn_which_writes_it(world, monkeypatch):
    world.projects.add(P, [queued()])
    world.kie.submits = ["veo_1"]
    write = world.projects.update_scene
    down = [True]

    def throttled(*args, **kwargs):
        if "taskId" in args[3] and down[0]:
            raise RuntimeError("throttled")
        return write(*args, **kwargs)

    monkeypatch.setattr(world.projects, "update_scene", throttled)
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "pending" and out["taskId"] == "veo_1"  # the step does not fail
    assert world.stored().taskId is None and world.stored().submittingAt == NOW
    down[0] = False
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert poll_step(out)["outcome"] == "done"
    stored = world.stored()
    assert stored.status == SceneStatus.COMPLETED and stored.taskId == "veo_1"
    assert world.kie.submitted == [world.kie.submitted[0]] and world.history.kinds() == ["generation", "clip"]


def test_a_failed_mark_write_frees_the_rate_limit_lane(world, monkeypatch):
    from broll_common.logic import rate_limit

    world.projects.add(P, [queued()])
    finished = []
    monkeypatch.setattr(rate_limit, "finish", lambda key, lane: finished.append(lane))
    monkeypatch.setattr(world.projects, "update_scene", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("down")))
    with pytest.raises(RuntimeError):
        poll_step(state_of(queued()))
    assert len(finished) == 1 and world.kie.submitted == []


def test_with_callbacks_on_kie_is_given_a_url_signed_for_this_scene_and_generation(world, callbacks_on, monkeypatch):
    from urllib.parse import parse_qs, urlparse

    from broll_common.logic.callbacks import verify_binding

    monkeypatch.setenv("CALLBACK_SIGNING_KEY", "s" * 32)
    world.projects.add(P, [scene(generation=4)])
    world.kie.submits = ["veo_1"]
    start_generation(P, "main", owner=OWNER)
    url = urlparse(world.kie.submitted[0][2]["callback_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.netloc == "api.example"
    assert (query["projectId"], query["sceneId"], query["generation"]) == (P, "main", "5")
    verify_binding(P, "main", 5, query["sig"])  # raises for a URL we did not issue


def test_a_refusal_whose_rewrite_fails_fails_the_scene_without_a_second_submit(world, monkeypatch):
    from broll_common.logic import policy
    from broll_common.prompts import PromptError

    def cannot(*args, **kwargs):
        raise PromptError("The prompt writer is unavailable.")

    monkeypatch.setattr(policy, "rewrite_for_policy", cannot)
    world.projects.add(P, [scene()])
    world.kie.submits = [FakeKie.refused()]
    s = start_generation(P, "main", owner=OWNER)
    assert s.error == MESSAGES[400] and len(world.kie.submitted) == 1 and world.history.kinds() == ["failed"]


# ---------------------------------------------------------------- the ledger around a submit, the submit's mark


@pytest.fixture
def metrics(monkeypatch):
    from broll_common.logic import ledger
    from broll_common.logic.generation import submit

    seen = []
    for module in (submit, ledger):
        monkeypatch.setattr(module, "emit", lambda name, unit, value, **dims: seen.append(name))
    return seen


TURNS = {"one-scene": lambda: start_generation(P, "main", owner=OWNER), "queued": lambda: poll_step(state_of(queued()))}


@pytest.mark.parametrize("turn", TURNS.values(), ids=TURNS.keys())
def test_a_task_kie_took_reaches_the_scene_when_the_ledger_fails_after_it(world, monkeypatch, metrics, turn):
    from botocore.exceptions import ReadTimeoutError

    world.projects.add(P, [queued() if turn is TURNS["queued"] else scene()])
    monkeypatch.setattr(world.usage, "record_clip", unreachable)
    # The balance read after the submit: the breaker's own table times out.
    world.kie.balances = [10000.0, ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")]
    world.kie.submits = ["veo_1"]
    turn()
    assert world.stored().taskId == "veo_1" and world.stored().submittingAt is None
    assert len(world.kie.submitted) == 1 and world.history.kinds() == ["generation"]
    assert metrics == ["ClipsStarted", "CreditsEstimated"]  # no charge said to be known


def test_a_price_that_cannot_be_read_before_the_submit_is_the_configured_one(world, monkeypatch):
    from broll_common.logic.generation import submit

    estimates = []
    monkeypatch.setattr(submit, "emit", lambda name, unit, value, **dims: estimates.append((name, value)))
    world.kie.user_keys = {OWNER: "user-key-9999"}  # no quota: the claim reads no price
    world.projects.add(P, [scene()])
    monkeypatch.setattr(world.usage, "price", unreachable)
    world.kie.submits = ["veo_1"]
    s = start_generation(P, "main", owner=OWNER)
    assert s.taskId == "veo_1" and s.error is None and len(world.kie.submitted) == 1
    assert ("CreditsEstimated", config.settings().kie_credits_per_clip) in estimates


BALANCE_DOWN = {"5xx": FakeKie.unavailable(503), "timeout": FakeKie.timeout(),
                "circuit-open": FakeKie.circuit_open(NOW + 42, opened_at=NOW - 18)}


@pytest.mark.parametrize("answer", BALANCE_DOWN.values(), ids=BALANCE_DOWN.keys())
def test_a_balance_read_that_finds_kie_down_queues_the_submit_without_sending_it(world, answer):
    world.projects.add(P, [scene()])
    world.kie.balances = [answer]
    world.kie.submits = ["veo_1"]
    s = start_generation(P, "main", owner=OWNER)
    assert world.kie.balance_reads == 1 and world.kie.submitted == []  # one call for this attempt
    assert s.status == SceneStatus.GENERATING and s.error is None and s.waiting.reason == "kie_down"
    assert "failed" not in world.history.kinds()  # nothing was sent: not an unknown outcome


@pytest.mark.parametrize("reason, reads", [("kie_down", 0), ("rate_limited", 2)])
def test_a_scene_that_found_kie_down_submits_without_the_balance_reads(world, reason, reads):
    """Its submit may be the breaker's one half-open probe: a balance read would take it."""
    world.projects.add(P, [queued(waiting={"reason": reason, "since": NOW - 90, "nextTryAt": NOW})])
    world.kie.submits = ["veo_1"]
    poll_step(state_of(queued()))
    assert world.stored().taskId == "veo_1" and world.kie.balance_reads == reads


def test_a_queued_turn_marks_its_submit_before_sending_and_clears_it_with_the_task_id(world, clock):
    world.projects.add(P, [queued()])
    marked = []
    world.kie.submits = [lambda: marked.append(world.stored().submittingAt) or "veo_1"]
    poll_step(state_of(queued()))
    assert marked == [clock.now]
    assert world.stored().taskId == "veo_1" and world.stored().submittingAt is None


def test_a_queued_submit_kie_did_not_take_clears_its_mark_and_the_next_turn_sends_it(world):
    world.projects.add(P, [queued()])
    world.kie.submits = [FakeKie.unavailable(500), "veo_1"]
    state = poll_step(state_of(queued()))
    assert world.stored().waiting.reason == "kie_down" and world.stored().submittingAt is None
    poll_step(state)
    assert world.stored().taskId == "veo_1" and len(world.kie.submitted) == 2


def test_a_turn_that_finds_the_mark_of_one_that_died_mid_submit_fails_the_scene_never_sends_again(world):
    """The state machine retries a poll step that failed (an exception, a timeout): the step
    before may have been answered by Kie and died before writing the task id."""
    world.projects.add(P, [queued(submittingAt=NOW - 5)])
    world.kie.submits = ["veo_2"]
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "done" and world.kie.submitted == []
    assert world.stored().status == SceneStatus.FAILED and world.stored().error == UNKNOWN_OUTCOME
    assert world.stored().submittingAt is None
