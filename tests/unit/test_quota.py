"""Daily quotas and what the credits left cover, against fakes: the refusal before any claim or Kie
call, own-key users bypassing, an admin's override, Claude prompts counted, and the estimate a
system-key user sees (their quota left, never the system account's balance)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from broll_common import config
from broll_common.dal import projects as storage
from broll_common.logic import budget, ledger, plan, policy, quota
from broll_common.logic import schedule as scheduling
from broll_common.logic.generation import cancel, generate_all, start_generation
from broll_common.models.domain import SceneSlot, SceneStatus, TimeRange
from broll_common.prompts import ComposedPrompt, rewrite
from broll_common.models.errors import TooManyRequests

from tests.unit.fakes import FakeKie
from tests.unit.generation_world import (  # noqa: F401 - the fixtures (world needs clock), by name
    NOW, OWNER, P, clock, scene, world,
)

DAY = ledger.utc_day(NOW)


def _used(world, credits, owner=OWNER):
    world.usage.items[(f"user#{owner}", f"day#{DAY}")] = {"credits": credits}


def _two_shots(scene_id):
    two = scene(scene_id, timeRange=TimeRange(start=0, end=14, label="0:00–0:14"))
    assert plan.clips_to_make(two) == 2  # a scene longer than one 8 s clip takes two sub-shots
    return two


def test_a_user_over_quota_gets_a_sentence_and_no_claim_nor_kie_call_while_another_is_unaffected(world):
    world.projects.add(P, [scene()])
    world.projects.add("b-project", [scene()], owner="user-b")
    _used(world, 1960)
    with pytest.raises(quota.QuotaExceeded) as refused:
        start_generation(P, "main", owner=OWNER)
    assert refused.value.status == 429
    assert re.fullmatch(r"You have used 1,960 of your 2,000 credits for today; this needs 80 more\. "
                        r"It resets in \d+ (hours|minutes), or ask an admin to raise your quota\.", refused.value.message)
    assert world.kie.submitted == [] and world.projects.writes == []
    world.kie.submits = ["veo_b"]
    assert start_generation("b-project", "main", owner="user-b").taskId == "veo_b"


def test_an_admins_override_raises_one_users_quota(world):
    world.projects.add(P, [scene()])
    _used(world, 1960)
    world.usage.items[(f"user#{OWNER}", "quota")] = {"dailyCredits": 5000.0}
    world.kie.submits = ["veo_1"]
    assert start_generation(P, "main", owner=OWNER).taskId == "veo_1"
    assert quota.left(OWNER, world.kie.key_for(OWNER)).model_dump() == {
        "dailyCredits": 5000.0, "usedToday": 2040.0, "left": 2960.0,
        "resetsAt": f"{ledger.day_end(DAY):%Y-%m-%dT%H:%M:%S}Z"}


def test_a_user_with_their_own_key_has_no_quota(world):
    world.kie.user_keys = {OWNER: "own-key-00000001"}
    world.projects.add(P, [scene()])
    _used(world, 99999)
    world.kie.submits = ["veo_1"]
    assert start_generation(P, "main", owner=OWNER).taskId == "veo_1"
    assert quota.left(OWNER, world.kie.key_for(OWNER)) is None


def test_claude_prompts_count_at_the_configured_credits(world, monkeypatch):
    monkeypatch.setenv("CLAUDE_CREDITS_PER_PROMPT", "2.5")
    config.reset_settings()
    quota.record_prompt(OWNER)
    quota.record_prompt(OWNER)
    quota.record_prompt(None)  # no user: nothing to count
    assert world.usage.day(OWNER, DAY).credits == 5.0 and world.usage.day(OWNER, DAY).prompts == 2


def test_asking_for_claude_prompts_beyond_the_quota_is_refused_and_the_free_local_composer_never_is(world, monkeypatch):
    monkeypatch.setattr(quota, "user_key_info", lambda owner: None)  # a system-key user
    _used(world, 1999.5)
    monkeypatch.setattr(quota.secrets, "anthropic_key", lambda: "")
    quota.admit_prompts(OWNER, 3)  # the local composer: nothing to pay
    monkeypatch.setattr(quota.secrets, "anthropic_key", lambda: "sk-ant-test")
    with pytest.raises(quota.QuotaExceeded, match=r"^You have used 2,000 of your 2,000 credits for today; this needs 1 more"):
        quota.admit_prompts(OWNER, 1)
    _used(world, 1990)
    quota.admit_prompts(OWNER, 2)


def test_the_estimate_shows_a_system_key_user_their_quota_left_and_caps_to_whole_scenes(world):
    world.kie.balances = [10000.0]
    done = scene("done", status=SceneStatus.COMPLETED)
    world.projects.add(P, [scene("hook"), _two_shots("main"), scene("cta"), done])
    _used(world, 1800)  # 200 left: two clips at 80
    estimate = budget.estimate(P, OWNER)
    assert (estimate.scenes, estimate.clips, estimate.estimatedCredits) == (3, 4, 320.0)
    assert (estimate.remainingCredits, estimate.remainingSource) == (200.0, "daily_quota")
    # Whole scenes in timeline order: the hook (1 clip) fits, the two-shot scene would make 3.
    assert (estimate.startableClips, estimate.startableScenes) == (1, 1)
    assert estimate.note.startswith("Your 200 credits left today cover 1 of the 4 clips (1 of 3 scenes)")


def test_an_estimate_that_covers_nothing_says_what_generate_all_would_answer(world):
    world.projects.add(P, [scene("hook"), scene("main")])
    _used(world, 1990)
    estimate = budget.estimate(P, OWNER)
    assert (estimate.startableClips, estimate.startableScenes, estimate.remainingCredits) == (0, 0, 10.0)
    assert estimate.note.startswith("You have used 1,990 of your 2,000 credits for today; this needs 80 more.")


def test_the_system_accounts_balance_caps_but_is_never_shown(world):
    world.kie.balances = [170.0]
    world.projects.add(P, [scene("hook"), scene("main"), scene("cta")])
    estimate = budget.estimate(P, OWNER)
    assert (estimate.remainingCredits, estimate.remainingSource, estimate.startableClips) == (2000.0, "daily_quota", 2)
    assert "170" not in estimate.note
    assert estimate.note.startswith("The service's Kie.ai credits cover 2 of the 3 clips")


def test_the_estimate_shows_an_own_key_user_their_kie_balance(world):
    world.kie.user_keys = {OWNER: "own-key-00000001"}
    world.kie.balances = [1234.0]
    world.projects.add(P, [scene("hook"), scene("main")])
    estimate = budget.estimate(P, OWNER)
    assert (estimate.remainingCredits, estimate.remainingSource, estimate.startableClips, estimate.note) == (
        1234.0, "kie_balance", 2, None)


def test_generate_all_starts_what_the_quota_covers_and_skips_the_rest(world):
    world.projects.add(P, [scene("hook"), scene("main"), scene("cta")])
    _used(world, 1840)  # 160 left: two clips
    result = generate_all(P, OWNER)
    assert [s.sceneId for s in result.started] == ["hook", "main"]
    assert result.skipped == [{"sceneId": "cta", "reason": "not enough credits"}]
    assert world.stored("cta").status == SceneStatus.IDLE


def test_generate_all_with_nothing_affordable_is_a_429_before_any_claim(world):
    world.projects.add(P, [scene("hook"), scene("main")])
    _used(world, 1950)
    with pytest.raises(quota.QuotaExceeded, match="You have used 1,950 of your 2,000 credits for today; this needs 80"):
        generate_all(P, OWNER)
    world.kie.balances = [50.0]
    _used(world, 0)
    with pytest.raises(TooManyRequests, match="The service's Kie.ai credits do not cover this now"):
        generate_all(P, OWNER)
    assert world.projects.writes == [] and world.loops.started == [] and world.kie.submitted == []


def test_an_own_key_batch_beyond_the_balance_is_refused_with_the_balance(world):
    world.kie.user_keys = {OWNER: "own-key-00000001"}
    world.kie.balances = [40.0]
    world.projects.add(P, [scene("hook")])
    with pytest.raises(TooManyRequests, match="Your Kie.ai account has 40 credits left; this needs 80"):
        generate_all(P, OWNER)
    assert world.projects.writes == []


def test_clips_claimed_but_not_yet_at_kie_count_so_a_second_batch_cannot_overshoot(world):
    world.projects.add(P, [scene("hook"), scene("main")])
    world.projects.add("second", [scene("hook"), scene("main")])
    world.usage.items[(f"user#{OWNER}", "quota")] = {"dailyCredits": 200.0}
    assert len(generate_all(P, OWNER).started) == 2  # queued for their loops: 160 held, nothing at Kie yet
    assert quota.left(OWNER, world.kie.key_for(OWNER)).left == 40.0
    with pytest.raises(quota.QuotaExceeded, match="You have used 160 of your 200 credits"):
        generate_all("second", OWNER)


def test_a_submit_moves_its_clip_from_the_hold_to_the_day_and_a_cancel_before_it_frees_the_hold(world, clock):
    world.projects.add(P, [scene("hook"), scene("main")])
    world.kie.submits = ["veo_1"]
    start_generation(P, "hook", owner=OWNER)
    assert world.usage.held(OWNER, clock.now) == 0 and world.usage.day(OWNER, DAY).credits == 80.0
    generate_all(P, OWNER)  # "main", queued
    assert world.usage.held(OWNER, clock.now) == 80.0
    cancel(P, "main", OWNER)
    assert world.usage.held(OWNER, clock.now) == 0 and quota.left(OWNER, world.kie.key_for(OWNER)).usedToday == 80.0


def test_a_hold_whose_clips_never_reached_kie_stops_counting_after_the_queue_and_generation_deadlines(world, clock):
    world.projects.add(P, [scene("hook")])
    generate_all(P, OWNER)
    assert quota.left(OWNER, world.kie.key_for(OWNER)).usedToday == 80.0
    clock.now += config.settings().queue_deadline_s + config.settings().generation_deadline_s + 1
    assert quota.left(OWNER, world.kie.key_for(OWNER)).usedToday == 0.0


def test_a_hold_of_several_sub_shots_counts_until_the_last_could_have_been_made(world, clock):
    world.projects.add(P, [_two_shots("main")])
    generate_all(P, OWNER)
    one_clip = config.settings().queue_deadline_s + config.settings().generation_deadline_s
    clock.now += one_clip + 1  # the first sub-shot's time is up; the second may still be to come
    assert quota.left(OWNER, world.kie.key_for(OWNER)).usedToday == 160.0
    clock.now += one_clip
    assert quota.left(OWNER, world.kie.key_for(OWNER)).usedToday == 0.0


def test_a_failure_before_kie_took_the_clip_frees_its_hold_but_a_timeout_keeps_it_counted(world, clock):
    world.projects.add(P, [scene("hook"), scene("main")])
    world.kie.submits = [FakeKie.out_of_credits(), FakeKie.timeout()]
    assert start_generation(P, "hook", owner=OWNER).status == SceneStatus.FAILED
    assert world.usage.held(OWNER, clock.now) == 0  # refused: never started at Kie, nothing counted
    assert start_generation(P, "main", owner=OWNER).status == SceneStatus.FAILED
    assert world.usage.held(OWNER, clock.now) == 80.0  # it may have started (and be charged): still counted


@pytest.mark.parametrize("key, prompts", [("", 0), ("sk-ant-test", 1)])
def test_a_policy_rewrite_by_claude_counts_one_prompt_and_the_local_one_none(world, monkeypatch, key, prompts):
    refused = scene("main", status=SceneStatus.GENERATING, taskId="veo_1", generation=1, keyOwner="system")
    world.projects.add(P, [refused])
    monkeypatch.setattr(rewrite, "anthropic_key", lambda: key)
    monkeypatch.setattr(rewrite, "rewrite_with_claude", lambda *a: ComposedPrompt("Ships at dawn, wide.", "claude", []))
    assert policy.rewrite_once(SceneSlot(P, 0, refused, OWNER), "content policy") is not None
    assert world.usage.day(OWNER, DAY).prompts == prompts


def test_the_quota_sentences_say_how_long_until_it_resets_never_a_clock_time(world, clock):
    world.projects.add(P, [scene("hook"), _two_shots("main")])
    _used(world, 1900)
    view = quota.left(OWNER, world.kie.key_for(OWNER))
    end = datetime.fromisoformat(view.resetsAt.replace("Z", "+00:00")).timestamp()
    assert quota.resets_in(view, end - 5 * 3600) == "in 5 hours" and quota.resets_in(view, end - 600) == "in 10 minutes"
    credits = budget.credits_left(OWNER, world.kie.key_for(OWNER))
    said = [budget.what_is_left(credits), budget.estimate(P, OWNER).note]
    assert all(re.search(r"resets in \d+ (hours|minutes)", s) and "UTC" not in s for s in said), said


def _scheduled(world, monkeypatch, schedule, person_sets_one=False):
    """run_due over P with `schedule`; the schedule writes it made, as (value, expect)."""
    writes = []

    def replace_part(project_id, part, value, *, owner, expect):
        writes.append((value, expect))
        if person_sets_one and expect == {}:
            raise storage.StaleScene("the person set another schedule meanwhile")

    record = world.projects.load_broll(P, owner=None)
    monkeypatch.setattr(storage, "replace_part", replace_part)
    return scheduling.run_due([(P, OWNER, schedule, record.scenes)]), writes


def test_a_when_credits_allow_batch_beyond_the_whole_daily_quota_starts_what_the_quota_covers(world, monkeypatch):
    world.projects.add(P, [scene("hook"), scene("main"), scene("cta")])
    world.usage.items[(f"user#{OWNER}", "quota")] = {"dailyCredits": 200.0}  # 2 clips a day, never 3
    _used(world, 100)
    counts, writes = _scheduled(world, monkeypatch, {"whenCreditsAllow": True})
    assert counts["waiting"] == 1
    assert re.fullmatch(
        r"Waiting for credits: this batch needs 160, your daily quota has 100 left "
        r"\(it resets in \d+ (hours|minutes)\)\. "
        r"Your whole daily quota \(200 credits\) covers 2 of its 3 clips, so it will start those "
        r"\(2 of 3 scenes, in timeline order\)\.", writes[0][0]["note"])
    _used(world, 0)
    counts, _ = _scheduled(world, monkeypatch, {"whenCreditsAllow": True})
    assert counts["started"] == 2


def test_a_when_credits_allow_batch_whose_first_scene_exceeds_the_daily_quota_says_it_can_never_start(
    world, monkeypatch,
):
    world.projects.add(P, [_two_shots("main")])
    world.usage.items[(f"user#{OWNER}", "quota")] = {"dailyCredits": 100.0}
    counts, writes = _scheduled(world, monkeypatch, {"whenCreditsAllow": True})
    assert counts == {"due": 1, "started": 0, "waiting": 1}
    assert writes[0][0]["note"].startswith("This batch can never start: its first scene needs 160 credits")


@pytest.mark.parametrize("person_sets_one", [False, True])
def test_a_batch_refused_at_its_start_goes_back_only_if_the_person_set_none_meanwhile(
    world, monkeypatch, person_sets_one,
):
    world.projects.add(P, [scene("hook")])

    def refused(*args, **kwargs):
        raise quota.QuotaExceeded("the credits went meanwhile")

    monkeypatch.setattr(scheduling, "generate_all", refused)
    counts, writes = _scheduled(world, monkeypatch, {"whenCreditsAllow": True}, person_sets_one)
    assert counts["waiting"] == 1  # a schedule the person set meanwhile is theirs: never overwritten
    assert writes[-1] == ({"whenCreditsAllow": True, "note": "the credits went meanwhile"}, {})


def test_a_due_batch_is_taken_off_only_if_its_cap_is_still_the_one_read(world, monkeypatch):
    """The sweep's read can be a sweep's length old: a cap the person changed since keeps the schedule."""
    world.projects.add(P, [scene("hook"), scene("main")])
    counts, writes = _scheduled(world, monkeypatch, {"whenCreditsAllow": True, "maxClips": 1})
    assert counts["started"] == 1
    assert writes[0] == (None, {"whenCreditsAllow": True, "maxClips": 1})
