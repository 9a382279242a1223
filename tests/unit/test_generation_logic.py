"""Generation's rules against fakes of every port (issue 13): the claim, submit with its
rate-limit and breaker outcomes, settle, the poll step, Generate All, cancel and the sweep.
What is asserted is what a person would see: the stored scene, the Kie calls made (or not),
the history written, the poll loops started. No AWS stub, no sleeps (the clock is ours)."""

from __future__ import annotations

import time

import pytest

from broll_common import config
from broll_common.clients.breaker import get_kie
from broll_common.clients.kie import MESSAGES
from broll_common.clients.poll_loop import get_poll_loops
from broll_common.dal.coordination import get_coordination
from broll_common.dal.history import get_history
from broll_common.dal.media import get_media
from broll_common.dal.projects import get_projects
from broll_common.logic import plan
from broll_common.logic.generation import cancel, generate_all, poll_step, start_generation, sweep
from broll_common.logic.generation import claim as claim_module, executions
from broll_common.logic.generation.loop import SUBMIT_GRACE_S
from broll_common.logic.generation.settle import UNKNOWN_OUTCOME, ClipCopyFailed, Settled, settle
from broll_common.logic.media import clip_key
from broll_common.models.domain import Scene, SceneStatus, TimeRange
from broll_common.models.errors import Conflict

from tests.unit.fakes import FakeCoordination, FakeHistory, FakeKie, FakeMedia, FakePollLoops, FakeProjects

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

    def stored(self, scene_id="main") -> Scene:
        return self.projects.scene(P, scene_id)


@pytest.fixture
def world(clock):
    w = World()
    with get_projects.use(w.projects), get_history.use(w.history), get_kie.use(w.kie), \
            get_coordination.use(w.coordination), get_poll_loops.use(w.loops), get_media.use(w.media):
        yield w


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


@pytest.mark.parametrize("answer", [FakeKie.timeout(), FakeKie.unavailable(500)], ids=["timeout", "5xx"])
def test_a_submit_that_gets_no_answer_fails_once_and_is_never_resubmitted(world, answer):
    world.projects.add(P, [scene()])
    world.kie.submits = [answer]
    s = start_generation(P, "main", owner=OWNER)
    expected = UNKNOWN_OUTCOME if answer.code == 0 else MESSAGES[500]
    assert s.status == SceneStatus.FAILED and s.error == expected
    assert world.stored().status == SceneStatus.FAILED and world.stored().error == expected
    assert len(world.kie.submitted) == 1 and world.loops.started == []
    assert world.history.of("failed")[0]["error"] == expected
    if answer.code == 0:
        assert "Retry may charge again." in expected


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


def queued(**fields) -> Scene:
    return generating(task_id=None, queued=True, **fields)


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


@pytest.mark.parametrize("answer", ["rate_limited", "unavailable"])
def test_a_busy_kie_on_a_queued_turn_waits_and_never_fails(world, answer):
    world.projects.add(P, [queued()])
    world.kie.submits = [getattr(FakeKie, answer)()]
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "pending" and out["waitSeconds"] >= 1
    stored = world.stored()
    assert stored.status == SceneStatus.GENERATING and stored.taskId is None and stored.error is None
    assert world.history.entries == []


def test_an_open_circuit_waits_until_its_retry_time(world, clock):
    world.projects.add(P, [queued()])
    world.kie.submits = [FakeKie.circuit_open(NOW + 42)]
    out = poll_step(state_of(queued()))
    assert out["outcome"] == "pending" and out["waitSeconds"] == 42
    assert world.stored().status == SceneStatus.GENERATING and world.history.entries == []


def test_an_open_circuit_on_a_one_scene_submit_says_when_kie_is_retried(world):
    world.projects.add(P, [scene()])
    world.kie.submits = [FakeKie.circuit_open(NOW + 60)]
    s = start_generation(P, "main", owner=OWNER)
    assert s.status == SceneStatus.FAILED and s.error.startswith("Kie.ai is unavailable, retrying at ")


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


# ---------------------------------------------------------------- settle


def test_success_copies_the_clip_and_completes_the_scene(world):
    s = generating()
    world.projects.add(P, [s])
    assert settle(P, 0, s, FakeKie.success("veo_1", "https://kie.example/a.mp4")) is Settled.FINISHED
    key = clip_key(P, "main", "veo_1")
    assert world.media.objects[key] == b"https://kie.example/a.mp4"
    stored = world.stored()
    assert stored.status == SceneStatus.COMPLETED and stored.progress == 100 and stored.videoKey == key
    [entry] = world.history.of("clip")
    assert entry["taskId"] == "veo_1" and entry["videoKey"] == key


def long_scene(**fields) -> Scene:
    s = scene(timeRange=TimeRange(start=0, end=20, label="0:00–0:20"))
    shots = plan.layout(s, plan.count_for(s))
    for shot in shots:
        shot.prompt, shot.promptSource = f"Sub-shot {shot.n}.", "person"
    return generating(timeRange=s.timeRange, plan=shots, aiPrompt="Sub-shot 1.", **fields)


def test_a_finished_sub_shot_keeps_its_clip_and_the_next_one_is_due(world):
    s = long_scene()
    assert len(s.plan) > 1
    world.projects.add(P, [s])
    assert settle(P, 0, s, FakeKie.success("veo_1")) is Settled.SUBMIT_NEXT
    stored = world.stored()
    assert stored.status == SceneStatus.GENERATING and stored.taskId is None
    assert stored.plan[0].videoKey == clip_key(P, "main", "veo_1") and stored.plan[0].taskId == "veo_1"
    assert stored.aiPrompt == "Sub-shot 2."
    assert world.history.of("clip")[0]["shot"] == 1


def test_the_last_sub_shot_completes_the_scene(world):
    s = long_scene()
    last = len(s.plan) - 1
    for shot in s.plan[:last]:
        shot.videoKey, shot.taskId = f"k{shot.n}.mp4", f"t{shot.n}"
    world.projects.add(P, [s])
    assert settle(P, 0, s, FakeKie.success("veo_1")) is Settled.FINISHED
    stored = world.stored()
    assert stored.status == SceneStatus.COMPLETED and stored.videoKey == "k1.mp4"


def test_a_failed_task_fails_the_scene_with_kies_sentence(world):
    s = generating()
    world.projects.add(P, [s])
    assert settle(P, 0, s, FakeKie.failed("veo_1", 501, "model error")) is Settled.FINISHED
    expected = "The video generation failed at Kie.ai. Retry, or change the prompt. (Kie.ai said: model error.)"
    assert world.stored().status == SceneStatus.FAILED and world.stored().error == expected
    assert world.history.of("failed")[0] == {"error": expected, "taskId": "veo_1", "prompt": s.aiPrompt}


def test_a_task_refused_for_content_policy_is_rewritten_and_due_again(world):
    s = generating()
    world.projects.add(P, [s])
    assert settle(P, 0, s, FakeKie.failed("veo_1", 400, "unsafe")) is Settled.SUBMIT_NEXT
    stored = world.stored()
    assert stored.taskId is None and stored.rewrite.reason == "unsafe" and stored.status == SceneStatus.GENERATING


def test_a_finished_task_without_a_video_fails_the_scene(world):
    from broll_common.clients.kie import TaskRecord, TaskState

    s = generating()
    world.projects.add(P, [s])
    assert settle(P, 0, s, TaskRecord("veo_1", TaskState.SUCCEEDED)) is Settled.FINISHED
    assert world.stored().error == "Kie.ai finished but returned no video. Retry."


def test_a_stale_settle_is_ignored(world):
    old = generating(task_id="veo_old", generation=1)
    world.projects.add(P, [generating(task_id="veo_new", generation=2)])  # regenerated meanwhile
    assert settle(P, 0, old, FakeKie.success("veo_old")) is Settled.FINISHED
    assert settle(P, 0, old, FakeKie.failed("veo_old")) is Settled.FINISHED
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
        settle(P, 0, s, FakeKie.success("veo_1"))
    assert world.stored().status == SceneStatus.GENERATING and world.history.entries == []


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


@pytest.fixture
def callbacks_on(monkeypatch):
    monkeypatch.setenv("KIE_CALLBACK_URL", "https://api.example/kie/callback")
    config.reset_settings()


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
    assert world.history.of("cancelled") == [{"taskId": "veo_1", "prompt": s.aiPrompt}]
    assert settle(P, 0, s, FakeKie.success("veo_1")) is Settled.FINISHED  # the cancelled task finishes late
    assert world.stored().status == SceneStatus.IDLE and world.stored().videoKey is None


def test_cancel_of_a_scene_that_is_not_generating_is_a_conflict(world):
    world.projects.add(P, [scene(status=SceneStatus.COMPLETED)])
    with pytest.raises(Conflict, match="This scene is not generating, so there is nothing to cancel.") as caught:
        cancel(P, "main", OWNER)
    assert caught.value.status == 409 and world.history.entries == [] and world.projects.writes == []


# ---------------------------------------------------------------- the sweep


def test_the_sweep_restarts_a_dead_loop_and_keeps_its_name(world):
    world.projects.add(P, [generating(age=100)])
    world.kie.tasks = {"veo_1": FakeKie.generating("veo_1")}
    assert sweep(NOW) == {"checked": 1, "settled": 0, "restarted": 1, "failed": 0}
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
    assert sweep(NOW) == {"checked": 1, "settled": 0, "restarted": 0, "failed": 0}
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
    assert sweep(NOW) == {"checked": 2, "settled": 0, "restarted": 0, "failed": 1}
    assert world.stored().error == UNKNOWN_OUTCOME and "Retry may charge again." in UNKNOWN_OUTCOME
    assert world.stored("cta").status == SceneStatus.GENERATING  # still within the grace
    assert world.kie.submitted == []  # never resubmitted


def test_the_sweep_leaves_a_queued_scene_whose_loop_waits_for_a_slot(world):
    world.projects.add(P, [queued(age=600)])
    world.loops.statuses["p-main-g1"] = "RUNNING"
    assert sweep(NOW)["failed"] == 0 and world.stored().status == SceneStatus.GENERATING

