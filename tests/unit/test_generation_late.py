"""A cancelled clip that Kie still makes (and charges) lands in the scene's History, exactly once,
whoever learns of it (the old poll loop, its callback, the sweep), and the scene is left as the
cancel left it. Against the fakes (tests/unit/generation_world.py), and the store's part on moto."""

from __future__ import annotations

import pytest

from broll_common import config
from broll_common.dal import projects as storage
from broll_common.logic.generation import cancel, confirm_callback, poll_step, sweep
from broll_common.logic.generation import late
from broll_common.logic import ledger
from broll_common.logic.generation.cancel import MAX_LATE_TASKS, MAX_PROMPTED_LATE_TASKS, UNWATCHED
from broll_common.logic.generation.settle import Settled
from broll_common.logic.views import scene_view
from broll_common.models.domain import LateTask, SceneSlot, SceneStatus
from broll_common.models.errors import Conflict

from tests.unit.fakes import FakeKie
from tests.unit.generation_world import (  # noqa: F401 - the fixtures (world needs clock), by name
    NOW, OWNER, P, clock, generating, long_scene, scene, state_of, world,
)
from tests.unit.test_sweep_index import _create, _flagged, table  # noqa: F401 - the moto table, by name

CLIP_KEY = f"users/{OWNER}/projects/{P}/broll/main/veo_1.mp4"


def _cancelled(world, **fields):
    """A sent clip (veo_1, generation 1), cancelled: (the poll loop's state for it, the cancel's answer)."""
    s = generating(**fields)
    world.projects.add(P, [s])
    view = cancel(P, "main", OWNER)
    return state_of(s), view


def _untouched(world):
    stored = world.stored()
    assert (stored.status, stored.generation, stored.taskId, stored.videoKey) == (SceneStatus.IDLE, 2, None, None)


def test_cancel_says_the_clip_is_paid_for_and_lands_in_history_and_keeps_the_task(world):
    _, view = _cancelled(world, seed=12345)
    assert view.statusNote == ("Cancelled. Kie.ai cannot stop a task it has started: this clip is still paid for "
                               "(about 80 credits); if Kie.ai finishes it, it lands in this scene's History.")
    task = world.stored().lateTasks["veo_1"]
    assert (task.generation, task.startedAt, task.loop, task.seed) == (1, NOW - 30, "p-main-g1", 12345)
    assert "lateTasks" not in view.model_dump()  # stored, never shown


def test_a_cancelled_task_that_finishes_lands_in_history_and_leaves_the_scene_alone(world):
    state, _ = _cancelled(world)
    world.kie.tasks = {"veo_1": FakeKie.generating("veo_1")}
    assert poll_step(state)["outcome"] == "pending"  # the old loop keeps watching it
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert poll_step(state)["outcome"] == "done"
    [entry] = world.history.of("clip")
    assert entry == {"taskId": "veo_1", "videoKey": CLIP_KEY, "prompt": "Cranes at dawn (main), slow dolly.",
                     "promptSource": "person", "note": late.LANDED_NOTE}
    assert world.media.objects[CLIP_KEY] == b"https://kie.example/veo_1.mp4"
    _untouched(world)
    assert world.stored().lateTasks == {}


def test_a_cancelled_sub_shot_lands_as_that_sub_shot(world):
    s = long_scene()
    world.projects.add(P, [s])
    cancel(P, "main", OWNER)
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    poll_step(state_of(s))
    [entry] = world.history.of("clip")
    assert (entry["shot"], entry["shots"], entry["prompt"]) == (1, len(s.plan), "Sub-shot 1.")


def test_the_callback_and_the_loop_land_it_once(world):
    state, _ = _cancelled(world)
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert confirm_callback(P, "main", 1, "veo_1") is True
    assert poll_step(state)["outcome"] == "done"
    assert confirm_callback(P, "main", 1, "veo_1") is False  # Kie may deliver it twice
    assert len(world.history.of("clip")) == 1 and world.kie.looked_up == ["veo_1"]
    _untouched(world)


def test_two_that_read_the_scene_before_either_landed_it_land_it_once(world):
    _cancelled(world)
    slot = SceneSlot(P, 0, world.stored(), OWNER)  # both read it while the task was still kept
    done = FakeKie.success("veo_1")
    assert late.land(slot, "veo_1", done) is Settled.FINISHED
    assert late.land(slot, "veo_1", done) is Settled.FINISHED
    assert len(world.history.of("clip")) == 1


def test_a_cancelled_task_that_fails_leaves_a_failed_entry(world):
    state, _ = _cancelled(world)
    world.kie.tasks = {"veo_1": FakeKie.failed("veo_1", message="upstream error")}
    assert poll_step(state)["outcome"] == "done"
    [entry] = world.history.of("failed")
    assert "upstream error" in entry["error"] and entry["taskId"] == "veo_1"
    assert world.history.of("clip") == [] and world.stored().lateTasks == {}
    _untouched(world)


def test_a_cancelled_task_past_the_deadline_is_given_up_without_asking_kie(world, clock):
    state, _ = _cancelled(world)
    clock.now += config.settings().generation_deadline_s
    assert poll_step(state)["outcome"] == "done"
    assert world.history.of("failed")[0]["error"] == "Kie.ai did not finish this cancelled clip within 15 minutes."
    assert world.kie.looked_up == [] and world.stored().lateTasks == {}


def test_a_clip_copy_failure_keeps_the_task_for_the_next_turn(world, monkeypatch):
    state, _ = _cancelled(world)
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    monkeypatch.setattr(world.media, "copy_from_url", lambda url, key: (_ for _ in ()).throw(OSError("reset")))
    assert poll_step(state)["outcome"] == "pending"
    assert "veo_1" in world.stored().lateTasks and world.history.of("clip") == []


def test_the_sweep_lands_a_cancelled_task_whose_loop_is_gone_and_leaves_one_whose_loop_runs(world):
    _cancelled(world)
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    world.loops.statuses["p-main-g1"] = "RUNNING"
    assert sweep(NOW) == {"checked": 0, "settled": 0, "restarted": 0, "failed": 0, "queued": 0}
    assert world.kie.looked_up == []
    world.loops.statuses["p-main-g1"] = "FAILED"
    assert sweep(NOW)["settled"] == 1
    assert len(world.history.of("clip")) == 1 and world.stored().lateTasks == {}
    assert sweep(NOW)["settled"] == 0  # nothing is left to look at
    _untouched(world)


def test_the_loop_of_a_cancelled_clip_ends_quietly_when_its_project_is_deleted(world):
    state, _ = _cancelled(world)
    world.projects.projects.pop(P)
    assert poll_step(state)["outcome"] == "done" and world.kie.looked_up == []


def _tasks(prefix, n, age, prompt=""):
    return {f"{prefix}{i}": LateTask(generation=1, startedAt=NOW - age - i, loop=f"{prefix}{i}", prompt=prompt)
            for i in range(n)}


def test_past_the_projects_prompt_bound_older_cancelled_tasks_are_kept_without_their_prompt(world):
    other = scene("other", lateTasks=_tasks("old_", MAX_PROMPTED_LATE_TASKS - 1, age=500, prompt="Old prompt."))
    world.projects.add(P, [other, generating(age=60)])
    cancel(P, "main", OWNER)
    assert world.stored().lateTasks["veo_1"].prompt == "Cranes at dawn (main), slow dolly."
    world.projects.projects[P]["broll"]["scenes"][1] |= {"status": "generating", "taskId": "veo_2", "generation": 2,
                                                         "startedAt": NOW - 10}
    cancel(P, "main", OWNER)  # the project's 21st: the newest keep their prompt, the older one is kept without
    late = world.stored().lateTasks
    assert late["veo_2"].prompt and (late["veo_1"].prompt, late["veo_1"].promptSource) == ("", None)
    assert late["veo_1"].loop == "p-main-g1" and world.stored("other").lateTasks == other.lateTasks
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert poll_step(state_of(generating(), index=1))["outcome"] == "done"
    [entry] = world.history.of("clip")
    assert entry["taskId"] == "veo_1" and "prompt" not in entry  # choosing it keeps the scene's prompt


def test_past_the_projects_ceiling_the_oldest_cancelled_task_is_let_go_and_history_says_it_is_paid_for(world):
    other = scene("other", lateTasks=_tasks("old_", MAX_LATE_TASKS - 1, age=500))
    world.projects.add(P, [other, generating(task_id="veo_2", age=30, lateTasks=_tasks("veo_1_", 1, age=100))])
    cancel(P, "main", OWNER)
    assert list(world.stored().lateTasks) == ["veo_2"]
    [entry] = world.history.of("failed")
    assert entry["taskId"] == "veo_1_0" and entry["note"] == UNWATCHED and "paid for" in entry["note"]


def test_the_project_item_stays_far_below_dynamodbs_item_limit_with_every_cancelled_task_it_keeps(world):
    import json

    prompt = "p" * 2000
    scenes = [generating(f"s{n}", task_id=f"veo_{n}", aiPrompt=prompt) for n in range(60)]
    world.projects.add(P, scenes)
    for round_ in range(4):
        for n in range(60):
            world.projects.projects[P]["broll"]["scenes"][n] |= {
                "status": "generating", "taskId": f"veo_{n}_{round_}", "generation": round_ + 1,
                "startedAt": NOW + round_ * 60 + n}
            cancel(P, f"s{n}", OWNER)
    late = [t for s in world.projects.load_broll(P, owner=None).scenes for t in s.lateTasks.values()]
    assert len(late) == MAX_LATE_TASKS and sum(1 for t in late if t.prompt) == MAX_PROMPTED_LATE_TASKS
    size = len(json.dumps([raw.get("lateTasks") for raw in world.projects.projects[P]["broll"]["scenes"]]))
    whole = len(json.dumps(world.projects.projects[P]["broll"]))
    print(f"{len(late)} cancelled tasks: {size / 1000:.0f} KB of the step-7 item's {whole / 1000:.0f} KB")
    assert size < 100_000  # 60 scenes' 2 KB prompts and more fit beside them within 400 KB


def test_a_task_id_that_cannot_be_a_key_is_not_kept_and_history_says_so(world):
    world.projects.add(P, [generating(task_id="veo.1")])
    cancel(P, "main", OWNER)
    assert world.stored().lateTasks == {} and world.history.of("failed")[0]["taskId"] == "veo.1"


def test_a_landed_clip_whose_history_write_failed_is_kept_for_the_next_look(world, monkeypatch):
    state, _ = _cancelled(world)
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    record = world.history.record
    monkeypatch.setattr(world.history, "record", lambda *a, **k: None if a[2] == "clip" else record(*a, **k))
    assert poll_step(state)["outcome"] == "pending"  # History was not written: the task stays
    assert "veo_1" in world.stored().lateTasks
    monkeypatch.setattr(world.history, "record", record)
    assert poll_step(state)["outcome"] == "done"
    assert len(world.history.of("clip")) == 1 and world.stored().lateTasks == {}


def test_a_cancel_while_a_submit_is_marked_says_it_may_be_paid_for_and_keeps_its_share(world, monkeypatch):
    released = []
    monkeypatch.setattr(ledger, "release", lambda slot, sent: released.append(sent))
    world.projects.add(P, [generating(task_id=None, queued=True, submittingAt=NOW - 1)])
    view = cancel(P, "main", OWNER)
    assert view.statusNote == ("Cancelled. It may have reached Kie.ai as you cancelled: if it did, it is paid for "
                               "and lands in this scene's History.")
    assert released == [True] and world.stored().submittingAt is None


def test_a_cancel_that_keeps_racing_gives_up_with_a_sentence(world, monkeypatch):
    world.projects.add(P, [generating()])
    monkeypatch.setattr(world.projects, "update_scene",
                        lambda *a, **k: (_ for _ in ()).throw(storage.StaleScene("raced")))
    with pytest.raises(Conflict, match="Try again"):
        cancel(P, "main", OWNER)


def test_the_scene_shows_how_many_cancelled_clips_kie_still_makes_and_never_stores_the_count(world):
    first, _ = _cancelled(world)
    world.projects.projects[P]["broll"]["scenes"][0] |= {"status": "generating", "taskId": "veo_2", "generation": 2,
                                                         "startedAt": NOW - 10}
    view = cancel(P, "main", OWNER)
    assert view.lateClips == 2 and scene_view(world.stored()).lateClips == 2
    assert "lateClips" not in storage.scene_document(view)  # shown, never stored
    world.kie.tasks = {"veo_1": FakeKie.success("veo_1")}
    assert poll_step(first)["outcome"] == "done"  # veo_1 lands in History: one is still on its way
    assert scene_view(world.stored()).lateClips == 1
    assert scene_view(scene()).lateClips == 0


def test_a_cancel_of_a_scene_not_yet_sent_keeps_no_task(world):
    world.projects.add(P, [generating(task_id=None, queued=True)])
    cancel(P, "main", OWNER)
    assert world.stored().lateTasks == {}


def test_a_cancel_racing_an_earlier_task_landing_writes_what_is_left(world, monkeypatch):
    _cancelled(world)
    stored = world.projects.projects[P]["broll"]["scenes"][0]
    stored |= {"status": "generating", "taskId": "veo_2", "generation": 2, "startedAt": NOW - 10}
    read = world.projects.load_broll

    def landed_after_the_read(project_id, owner):
        record = read(project_id, owner=owner)
        stored.get("lateTasks", {}).pop("veo_1", None)  # the old loop lands veo_1 meanwhile
        return record

    monkeypatch.setattr(world.projects, "load_broll", landed_after_the_read)
    cancel(P, "main", OWNER)
    assert list(world.stored().lateTasks) == ["veo_2"] and world.stored().generation == 3


def test_a_cancel_racing_a_task_kept_meanwhile_keeps_both(world, monkeypatch):
    _cancelled(world)
    stored = world.projects.projects[P]["broll"]["scenes"][0]
    stored |= {"status": "generating", "taskId": "veo_3", "generation": 3, "startedAt": NOW - 10}
    read, kept = world.projects.load_broll, stored["lateTasks"]["veo_1"]

    def kept_after_the_read(project_id, owner):
        record = read(project_id, owner=owner)
        stored["lateTasks"].setdefault("veo_2", kept | {"generation": 2})  # a submit Kie took as gen 2 was cancelled
        return record

    monkeypatch.setattr(world.projects, "load_broll", kept_after_the_read)
    cancel(P, "main", OWNER)
    assert sorted(world.stored().lateTasks) == ["veo_1", "veo_2", "veo_3"]


# ---------------------------------------------------------------- the store (moto)


def test_the_store_keeps_a_cancelled_scene_flagged_and_removes_a_task_once(table):
    _create("late")
    entry = {"generation": 1, "startedAt": NOW, "loop": "late-main-g1"}
    storage.update_scene("late", 0, "main", {"lateTasks": {"veo_1": entry}}, owner=None)
    assert _flagged(table) == ["late"]
    [(_, _, _, found)] = storage.sweep_work().generating
    assert found.status == SceneStatus.IDLE and found.lateTasks["veo_1"].loop == "late-main-g1"
    removal = {"changes": {"lateTasks.veo_1": None}, "owner": None, "present": ("lateTasks.veo_1",)}
    storage.update_scene("late", 0, "main", **removal)
    with pytest.raises(storage.StaleScene):
        storage.update_scene("late", 0, "main", **removal)
    assert storage.sweep_work().generating == [] and _flagged(table) == []  # nothing left: the flag goes


def test_the_store_flags_the_item_again_when_a_task_is_kept_again(table):
    _create("late")
    entry = {"generation": 1, "startedAt": NOW, "loop": "late-main-g1"}
    storage.update_scene("late", 0, "main", {"lateTasks": {"veo_1": entry}}, owner=None)
    storage.update_scene("late", 0, "main", {"lateTasks.veo_1": None}, owner=None, present=("lateTasks.veo_1",))
    assert storage.sweep_work().generating == [] and _flagged(table) == []
    storage.update_scene("late", 0, "main", {"lateTasks.veo_1": entry}, owner=None, expect={"lateTasks.veo_1": None})
    assert _flagged(table) == ["late"]  # the sweep keeps looking at it


def test_the_store_refuses_a_whole_map_write_when_the_map_gained_a_task(table):
    _create("late")
    entry = {"generation": 1, "startedAt": NOW, "loop": "late-main-g1"}
    counted = {"lateTasks": 0}
    storage.update_scene("late", 0, "main", {"lateTasks": {"veo_1": entry}}, owner=None, counted=counted)
    with pytest.raises(storage.StaleScene):  # veo_1 came meanwhile: the write read none
        storage.update_scene("late", 0, "main", {"lateTasks": {"veo_2": entry}}, owner=None, counted=counted)
    storage.update_scene("late", 0, "main", {"lateTasks": {"veo_1": entry, "veo_2": entry}}, owner=None,
                         counted={"lateTasks": 1})
    storage.update_scene("late", 0, "main", {"lateTasks.veo_1": None, "lateTasks.veo_2": None}, owner=None)
    storage.update_scene("late", 0, "main", {"lateTasks": {"veo_3": entry}}, owner=None, counted=counted)  # empty
    [(_, _, _, found)] = storage.sweep_work().generating
    assert list(found.lateTasks) == ["veo_3"]
