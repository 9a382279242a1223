"""Generation's rules against fakes of every port (issue 13): settle, the poll step and a callback
confirmed. What is asserted is what a person would see: the stored scene, the Kie calls made (or
not), the history written, the poll loops started. No AWS stub, no sleeps
(tests/unit/generation_world.py: the fakes and the clock)."""

from __future__ import annotations

import pytest

from broll_common import config
from broll_common.clients.kie import MESSAGES
from broll_common.logic.generation import poll_step
from broll_common.logic.generation.settle import ClipCopyFailed, Settled, settle
from broll_common.logic.media import clip_key
from broll_common.models.domain import SceneSlot, SceneStatus

from tests.unit.fakes import FakeKie
from tests.unit.generation_world import (  # noqa: F401 - the fixtures (world needs clock), by name
    NOW, P, callbacks_on, clock, generating, long_scene, queued, state_of, unreachable, world,
)


# ---------------------------------------------------------------- settle


def test_success_copies_the_clip_and_completes_the_scene(world):
    s = generating()
    world.projects.add(P, [s])
    assert settle(SceneSlot(P, 0, s, "u"), FakeKie.success("veo_1", "https://kie.example/a.mp4")) is Settled.FINISHED
    key = clip_key("u", P, "main", "veo_1")
    assert world.media.objects[key] == b"https://kie.example/a.mp4"
    stored = world.stored()
    assert stored.status == SceneStatus.COMPLETED and stored.progress == 100 and stored.videoKey == key
    [entry] = world.history.of("clip")
    assert entry["taskId"] == "veo_1" and entry["videoKey"] == key


def test_a_finished_sub_shot_keeps_its_clip_and_the_next_one_is_due(world):
    s = long_scene()
    assert len(s.plan) > 1
    world.projects.add(P, [s])
    assert settle(SceneSlot(P, 0, s, "u"), FakeKie.success("veo_1")) is Settled.SUBMIT_NEXT
    stored = world.stored()
    assert stored.status == SceneStatus.GENERATING and stored.taskId is None
    assert stored.plan[0].videoKey == clip_key("u", P, "main", "veo_1") and stored.plan[0].taskId == "veo_1"
    assert stored.aiPrompt == "Sub-shot 2."
    assert world.history.of("clip")[0]["shot"] == 1


def test_the_last_sub_shot_completes_the_scene(world):
    s = long_scene()
    last = len(s.plan) - 1
    for shot in s.plan[:last]:
        shot.videoKey, shot.taskId = f"k{shot.n}.mp4", f"t{shot.n}"
    world.projects.add(P, [s])
    assert settle(SceneSlot(P, 0, s, "u"), FakeKie.success("veo_1")) is Settled.FINISHED
    stored = world.stored()
    assert stored.status == SceneStatus.COMPLETED and stored.videoKey == "k1.mp4"


def test_a_failed_task_fails_the_scene_with_kies_sentence(world):
    s = generating()
    world.projects.add(P, [s])
    assert settle(SceneSlot(P, 0, s, "u"), FakeKie.failed("veo_1", 501, "model error")) is Settled.FINISHED
    expected = "The video generation failed at Kie.ai. Retry, or change the prompt. (Kie.ai said: model error.)"
    assert world.stored().status == SceneStatus.FAILED and world.stored().error == expected
    assert world.history.of("failed")[0] == {"error": expected, "taskId": "veo_1", "prompt": s.aiPrompt}


def test_a_failed_task_fails_the_scene_and_its_step_when_the_ledger_cannot_be_reached(world, monkeypatch):
    """The failure is what matters; freeing the claim's hold is best effort (logged)."""
    world.projects.add(P, [generating(keyOwner="system")])
    world.kie.tasks = {"veo_1": FakeKie.failed("veo_1")}
    monkeypatch.setattr(world.usage, "release", unreachable)
    assert poll_step(state_of(generating()))["outcome"] == "done"
    assert world.stored().status == SceneStatus.FAILED and world.history.kinds() == ["failed"]


def test_a_task_refused_for_content_policy_is_rewritten_and_due_again(world):
    s = generating()
    world.projects.add(P, [s])
    assert settle(SceneSlot(P, 0, s, "u"), FakeKie.failed("veo_1", 400, "unsafe")) is Settled.SUBMIT_NEXT
    stored = world.stored()
    assert stored.taskId is None and stored.rewrite.reason == "unsafe" and stored.status == SceneStatus.GENERATING


def test_a_finished_task_without_a_video_fails_the_scene(world):
    from broll_common.clients.kie import TaskRecord, TaskState

    s = generating()
    world.projects.add(P, [s])
    assert settle(SceneSlot(P, 0, s, "u"), TaskRecord("veo_1", TaskState.SUCCEEDED)) is Settled.FINISHED
    assert world.stored().error == "Kie.ai finished but returned no video. Retry."


def test_a_stale_settle_is_ignored(world):
    old = generating(task_id="veo_old", generation=1)
    world.projects.add(P, [generating(task_id="veo_new", generation=2)])  # regenerated meanwhile
    assert settle(SceneSlot(P, 0, old, "u"), FakeKie.success("veo_old")) is Settled.FINISHED
    assert settle(SceneSlot(P, 0, old, "u"), FakeKie.failed("veo_old")) is Settled.FINISHED
    stored = world.stored()
    assert stored.status == SceneStatus.GENERATING and stored.taskId == "veo_new" and stored.videoKey is None
    assert world.history.entries == []


def test_a_clip_that_cannot_be_copied_leaves_the_scene_generating(world, monkeypatch):
    s = generating()
    world.projects.add(P, [s])

    def broken(url, key):
        raise OSError("Kie's URL answered 403")

    monkeypatch.setattr(world.media, "copy_from_url", broken)
    with pytest.raises(ClipCopyFailed):
        settle(SceneSlot(P, 0, s, "u"), FakeKie.success("veo_1"))
    assert world.stored().status == SceneStatus.GENERATING and world.history.entries == []


def test_a_clip_the_guarded_fetch_refuses_fails_the_scene_with_its_reason(world, monkeypatch):
    from broll_common.clients.fetch import FetchRefused

    s = generating()
    world.projects.add(P, [s])

    def refused(url, key):
        raise FetchRefused("The address points into a private network, which cannot be fetched from.")

    monkeypatch.setattr(world.media, "copy_from_url", refused)
    assert settle(SceneSlot(P, 0, s, "u"), FakeKie.success("veo_1", "https://10.0.0.9/a.mp4")) is Settled.FINISHED
    stored = world.stored()
    assert stored.status == SceneStatus.FAILED and world.media.objects == {}
    assert stored.error == ("Kie.ai's clip could not be fetched safely: The address points into a private network, "
                            "which cannot be fetched from. Retry.")


# ---------------------------------------------------------------- the poll step


def test_a_turn_for_a_scene_that_moved_on_is_done_without_asking_kie(world):
    world.projects.add(P, [generating(task_id="veo_new", generation=2)])
    out = poll_step(state_of(generating(task_id="veo_old", generation=1)))
    assert out["outcome"] == "done" and out["attempt"] == 1 and world.kie.looked_up == []


def test_an_overdue_clip_fails_without_asking_kie(world):
    s = generating(age=901)
    world.projects.add(P, [s])
    assert poll_step(state_of(s))["outcome"] == "done"
    assert world.stored().error == "Kie.ai did not finish this clip within 15 minutes. Retry to try again."
    assert world.kie.looked_up == [] and world.history.kinds() == ["failed"]


def test_a_queued_scene_past_the_queue_deadline_fails_with_nothing_charged(world):
    s = queued(age=3601)
    world.projects.add(P, [s])
    assert poll_step(state_of(s))["outcome"] == "done"
    assert world.stored().error == (
        "Kie.ai stayed too busy to take this clip for 60 minutes; nothing was charged. Retry to try again.")
    assert world.kie.submitted == []


def test_a_pending_task_plans_the_next_wait(world):
    s = generating(age=30)
    world.projects.add(P, [s])
    world.kie.tasks = {"veo_1": FakeKie.generating("veo_1")}
    out = poll_step(state_of(s, attempt=2))
    # A share of the time spent (0.15 x 30 s), at least the floor (5 s), jitter only shortening it.
    assert out["outcome"] == "pending" and out["attempt"] == 3 and out["waitSeconds"] == 5
    assert world.kie.looked_up == ["veo_1"] and world.stored().status == SceneStatus.GENERATING


def test_a_finished_task_is_settled_by_the_poll_step(world):
    s = generating()
    world.projects.add(P, [s])
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert poll_step(state_of(s))["outcome"] == "done"
    assert world.stored().status == SceneStatus.COMPLETED


def test_a_finished_sub_shot_hands_the_loop_its_next_submit(world):
    s = long_scene()
    world.projects.add(P, [s])
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    world.kie.submits = ["veo_2"]
    out = poll_step(state_of(s))
    assert out["outcome"] == "pending" and out["taskId"] is None and out["waitSeconds"] == 1
    out = poll_step(out)
    assert out["taskId"] == "veo_2" and world.kie.submitted[0][1] == "Sub-shot 2."


def test_while_callbacks_are_trusted_the_loop_does_not_ask_kie_before_the_grace(world, callbacks_on):
    s = generating(age=30)
    world.projects.add(P, [s])
    world.coordination.arrived = NOW - 10  # a callback arrived after this clip was sent
    out = poll_step(state_of(s))
    assert out["outcome"] == "pending" and world.kie.looked_up == []
    grace = config.settings().poll_callback_grace_s
    assert out["waitSeconds"] >= 1 and 30 + out["waitSeconds"] <= grace + 1  # it looks again at the grace


def test_after_the_grace_the_loop_asks_kie_and_notes_the_missed_callback(world, callbacks_on):
    s = generating(age=config.settings().poll_callback_grace_s + 5)
    world.projects.add(P, [s])
    world.coordination.arrived = NOW - 10
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert poll_step(state_of(s))["outcome"] == "done"
    assert world.kie.looked_up == ["veo_1"] and world.coordination.missed == NOW


def test_without_callbacks_the_loop_asks_kie_at_once(world):
    s = generating(age=30)
    world.projects.add(P, [s])
    world.coordination.arrived = NOW - 10  # ignored: no callback URL is configured
    world.kie.tasks = {"veo_1": FakeKie.generating("veo_1")}
    poll_step(state_of(s))
    assert world.kie.looked_up == ["veo_1"]


def test_an_open_circuit_on_a_look_waits_at_least_until_its_retry_time(world):
    s = generating()
    world.projects.add(P, [s])
    world.kie.tasks = {"veo_1": FakeKie.circuit_open(NOW + 300)}
    out = poll_step(state_of(s))
    assert out["outcome"] == "pending" and out["waitSeconds"] == 300
    assert world.stored().status == SceneStatus.GENERATING


@pytest.mark.parametrize("answer", ["rate_limited", "unavailable"])
def test_a_busy_kie_on_a_look_only_waits(world, answer):
    s = generating()
    world.projects.add(P, [s])
    world.kie.tasks = {"veo_1": getattr(FakeKie, answer)()}
    assert poll_step(state_of(s))["outcome"] == "pending"
    assert world.stored().status == SceneStatus.GENERATING


def test_a_rejected_look_fails_the_scene(world):
    from broll_common.clients.kie import KieRejected

    s = generating()
    world.projects.add(P, [s])
    world.kie.tasks = {"veo_1": KieRejected(404, "no such task")}
    assert poll_step(state_of(s))["outcome"] == "done"
    assert world.stored().error == MESSAGES[404]


def test_a_removed_own_key_fails_the_scene_it_was_paying_for(world):
    s = generating(keyOwner="user")
    world.projects.add(P, [s])
    assert poll_step(state_of(s))["outcome"] == "done"
    assert world.stored().error == "This clip was started with your own Kie.ai key, which has since been removed."
    assert world.kie.looked_up == []


def test_a_clip_copy_failure_is_retried_on_the_next_turn(world, monkeypatch):
    s = generating()
    world.projects.add(P, [s])
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    monkeypatch.setattr(world.media, "copy_from_url", lambda url, key: (_ for _ in ()).throw(OSError("403")))
    out = poll_step(state_of(s))
    assert out["outcome"] == "pending" and world.stored().status == SceneStatus.GENERATING


# ---------------------------------------------------------------- a callback, confirmed with Kie


def test_a_callback_is_confirmed_with_kie_before_it_settles_the_scene(world):
    from broll_common.logic.generation import confirm_callback

    world.projects.add(P, [generating()])
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert confirm_callback(P, "main", 1, "veo_1") is True
    assert world.kie.looked_up == ["veo_1"] and world.stored().status == SceneStatus.COMPLETED


def test_a_callback_for_a_task_the_scene_no_longer_waits_for_is_dropped(world):
    from broll_common.logic.generation import confirm_callback

    world.projects.add(P, [generating(task_id="veo_new", generation=2)])
    assert confirm_callback(P, "main", 1, "veo_old") is False
    assert world.kie.looked_up == [] and world.stored().taskId == "veo_new"


def test_a_callback_for_a_still_running_task_changes_nothing(world):
    from broll_common.logic.generation import confirm_callback

    world.projects.add(P, [generating()])
    world.kie.tasks = {"veo_1": FakeKie.generating("veo_1")}
    assert confirm_callback(P, "main", 1, "veo_1") is False
    assert world.stored().status == SceneStatus.GENERATING and world.history.entries == []


def test_a_callback_for_a_finished_sub_shot_starts_a_loop_to_submit_the_next(world):
    from broll_common.logic.generation import confirm_callback

    world.projects.add(P, [long_scene()])
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert confirm_callback(P, "main", 1, "veo_1") is True
    [(name, state)] = world.loops.started
    assert name.startswith("p-main-g1-r") and state["taskId"] is None and state["waitSeconds"] == 1
    assert world.stored().pollExecution == name


def test_a_sub_shot_refused_for_content_policy_gets_its_rewritten_prompt_in_the_plan(world):
    s = long_scene()
    world.projects.add(P, [s])
    assert settle(SceneSlot(P, 0, s, "u"), FakeKie.failed("veo_1", 400, "unsafe")) is Settled.SUBMIT_NEXT
    stored = world.stored()
    assert stored.plan[0].prompt == stored.aiPrompt != "Sub-shot 1." and stored.plan[1].prompt == "Sub-shot 2."
    assert world.history.of("rewrite")[0]["fromPrompt"] == "Sub-shot 1."


def test_a_refusal_seen_by_both_the_loop_and_the_callback_is_rewritten_once(world):
    s = generating()
    world.projects.add(P, [s])
    refusal = FakeKie.failed("veo_1", 400, "unsafe")
    assert settle(SceneSlot(P, 0, s, "u"), refusal) is Settled.SUBMIT_NEXT
    assert settle(SceneSlot(P, 0, s, "u"), refusal, via="callback") is Settled.FINISHED  # the same task, seen again
    assert world.history.kinds() == ["rewrite"] and world.stored().status == SceneStatus.GENERATING


@pytest.mark.parametrize("fields, sent", [({}, False), ({"submittingAt": NOW - 600}, True)])
def test_a_queued_scene_past_its_queue_deadline_keeps_a_share_of_its_hold_only_if_it_may_have_been_sent(
        world, monkeypatch, fields, sent):
    from broll_common.logic import ledger

    released = []
    monkeypatch.setattr(ledger, "release", lambda slot, was_sent: released.append(was_sent))
    s = queued(age=config.settings().queue_deadline_s + 1, **fields)
    world.projects.add(P, [s])
    assert poll_step(state_of(s))["outcome"] == "done"
    assert world.stored().status == SceneStatus.FAILED and released == [sent]
