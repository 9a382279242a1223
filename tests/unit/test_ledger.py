"""The credit ledger against fakes (tests/unit/generation_world.py): what a submit records, a charge
learnt from Kie's callback or from the balance when a submit was alone on its key, and the price
measured from charges."""

from __future__ import annotations

import pytest

from broll_common.clients.kie import KieUnavailable
from broll_common.clients.secrets import KieKey
from broll_common.logic import ledger, rate_limit
from broll_common.logic.generation import cancel, generate_all, start_generation
from broll_common.models.domain import SceneSlot, TimeRange

from tests.unit.generation_world import (  # noqa: F401 - the fixtures (world needs clock), by name
    NOW, OWNER, P, clock, generating, scene, world,
)

DAY = ledger.utc_day(NOW)
SYSTEM, OWN = KieKey("system-key-0000", "system"), KieKey("own-key-00000001", "user")


def _slot(scene_id="main", owner=OWNER):
    return SceneSlot(P, 0, scene(scene_id), owner)


def test_a_submitted_clip_adds_its_estimate_to_the_project_the_user_and_a_system_key_users_day(world):
    ledger.clip_submitted(_slot(), "veo_1", SYSTEM, 80.0, None, None)
    ledger.clip_submitted(_slot("cta"), "veo_2", SYSTEM, 80.0, None, None)
    assert ledger.project_spend(P).model_dump() == {
        "clips": 2, "estimatedCredits": 160.0, "chargedCredits": 0, "chargedClips": 0}
    assert world.usage.totals(f"user#{OWNER}").clips == 2
    assert world.usage.day(OWNER, DAY).credits == 160.0
    assert world.usage.items[(f"user#{OWNER}", f"day#{DAY}")]["expiresAt"] == ledger.day_expires(DAY)
    ledger.clip_submitted(_slot(), "veo_1", SYSTEM, 80.0, None, None)  # the same task again: nothing added
    assert ledger.project_spend(P).clips == 2


def test_own_key_clips_are_totalled_but_never_counted_toward_the_quota(world):
    ledger.clip_submitted(_slot(), "veo_1", OWN, 80.0, 75.0, "balance")
    assert ledger.project_spend(P).model_dump() == {
        "clips": 1, "estimatedCredits": 80.0, "chargedCredits": 75.0, "chargedClips": 1}
    assert world.usage.day(OWNER, DAY).credits == 0


def test_a_reported_charge_corrects_the_day_once_however_often_the_callback_comes(world):
    ledger.clip_submitted(_slot(), "veo_1", SYSTEM, 80.0, None, None)
    for _ in range(2):  # Kie may deliver a callback twice
        ledger.charge_reported("veo_1", 100.0, "creditsConsumed")
    spend = ledger.project_spend(P)
    assert (spend.chargedCredits, spend.chargedClips, spend.estimatedCredits) == (100.0, 1, 80.0)
    assert world.usage.day(OWNER, DAY).credits == 100.0  # the estimate replaced by the charge
    assert world.usage.clip("veo_1").charge_source == "creditsConsumed"
    assert world.usage.price("veo3_fast") == (1, 100.0)


def test_a_charge_for_another_scenes_task_or_an_unknown_one_is_ignored(world):
    ledger.clip_submitted(_slot(), "veo_1", SYSTEM, 80.0, None, None)
    ledger.charge_reported("veo_1", 5000.0, "creditsConsumed", issued_for=(P, "cta"))
    ledger.charge_reported("veo_unknown", 80.0, "creditsConsumed")
    assert ledger.project_spend(P).chargedClips == 0 and world.usage.day(OWNER, DAY).credits == 80.0


def test_the_measured_mean_replaces_the_configured_price_from_three_samples_and_drift_is_logged(world, monkeypatch):
    warnings = []
    monkeypatch.setattr(ledger.logger, "warning", lambda message, **kw: warnings.append((message, kw)))
    for n, charged in enumerate((100.0, 110.0)):
        ledger.clip_submitted(_slot(), f"veo_{n}", SYSTEM, 80.0, charged, "balance")
    two = ledger.price_per_clip()
    assert (two.configured, two.measured, two.samples, two.used) == (80.0, None, 2, 80.0) and warnings == []
    ledger.clip_submitted(_slot(), "veo_2", SYSTEM, 80.0, 120.0, "balance")
    three = ledger.price_per_clip()
    assert (three.measured, three.samples, three.used) == (110.0, 3, 110.0)
    assert warnings and warnings[-1][1]["extra"]["measured"] == 110.0  # 37.5 % over the configured 80


def test_a_submit_alone_on_its_key_is_charged_what_the_balance_dropped(world):
    world.projects.add(P, [scene()])
    world.kie.submits, world.kie.balances = ["veo_1"], [1000.0, 915.0]
    start_generation(P, "main", owner=OWNER)
    entry = world.usage.clip("veo_1")
    assert (entry.estimate, entry.charged, entry.charge_source, entry.key_owner) == (80.0, 85.0, "balance", "system")
    assert world.usage.day(OWNER, DAY).credits == 85.0


def test_another_submit_in_flight_on_the_key_leaves_the_charge_unknown_without_reading_the_balance(world):
    world.projects.add(P, [scene()])
    world.kie.submits = ["veo_1"]
    other = rate_limit.try_admit(world.kie.system_key)  # another instance's submit, not answered yet
    assert other.admitted
    start_generation(P, "main", owner=OWNER)
    assert world.kie.balance_reads == 0 and world.usage.clip("veo_1").charged is None
    assert world.usage.day(OWNER, DAY).credits == 80.0  # the estimate counts meanwhile


def test_a_lane_that_moved_between_the_two_reads_leaves_the_charge_unknown(world):
    world.projects.add(P, [scene()])

    def another_submit_meanwhile():
        admission = rate_limit.try_admit(world.kie.system_key)
        rate_limit.finish(world.kie.system_key, admission.slot)
        return "veo_1"

    world.kie.submits, world.kie.balances = [another_submit_meanwhile], [1000.0, 840.0]
    start_generation(P, "main", owner=OWNER)
    assert world.kie.balance_reads == 2 and world.usage.clip("veo_1").charged is None


# A read before the submit that finds Kie down queues the submit instead (test_generation_claim_submit.py).
@pytest.mark.parametrize("balances", [[1000.0, KieUnavailable(0, "timeout")], [1000.0, 1000.0]])
def test_a_balance_that_cannot_be_read_after_or_did_not_drop_never_holds_up_the_submit(world, balances):
    world.projects.add(P, [scene()])
    world.kie.submits, world.kie.balances = ["veo_1"], balances
    view = start_generation(P, "main", owner=OWNER)
    assert view.taskId == "veo_1" and world.usage.clip("veo_1").charged is None


def test_cancel_says_the_clip_is_still_paid_for_and_keeps_counting_it(world):
    world.projects.add(P, [scene()])
    world.kie.submits = ["veo_1"]
    start_generation(P, "main", owner=OWNER)
    view = cancel(P, "main", OWNER)
    assert "still paid for (about 80 credits)" in view.statusNote
    assert world.history.of("cancelled")[0]["note"] == view.statusNote
    assert world.usage.day(OWNER, DAY).credits == 80.0  # never refunded


def test_cancel_before_the_submit_says_nothing_was_charged(world):
    world.projects.add(P, [generating(task_id=None)])
    assert cancel(P, "main", OWNER).statusNote == "Cancelled before it reached Kie.ai: nothing was charged."


def test_the_price_drift_is_logged_and_emitted_only_when_a_charge_moves_the_measured_mean(world, monkeypatch):
    warnings, drifts = [], []
    monkeypatch.setattr(ledger.logger, "warning", lambda message, **kw: warnings.append(kw))
    monkeypatch.setattr(ledger, "emit", lambda name, unit, value: name == "PriceDriftPercent" and drifts.append(value))
    for n, charged in enumerate((100.0, 110.0, 120.0)):
        ledger.clip_submitted(_slot(), f"veo_{n}", SYSTEM, 80.0, charged, "balance")
    assert drifts == [37.5] and len(warnings) == 1  # the third sample makes the mean: 110 against 80
    for _ in range(3):
        ledger.price_per_clip()  # reading the price says nothing
    ledger.clip_submitted(_slot(), "veo_3", SYSTEM, 80.0, 110.0, "balance")  # the mean stays 110
    assert drifts == [37.5] and len(warnings) == 1
    ledger.clip_submitted(_slot(), "veo_4", SYSTEM, 80.0, 82.0, "balance")  # 104.4: still over 20 %
    assert drifts == [37.5, pytest.approx(30.5)] and len(warnings) == 2


def _claimed(world, *scene_ids):
    """Generate All's claims of these scenes (two-clip ones), as their loops see them."""
    world.projects.add(P, [scene(s, timeRange=TimeRange(start=0, end=14, label="0:00–0:14")) for s in scene_ids])
    generate_all(P, OWNER)
    record = world.projects.load_broll(P, owner=None)
    return [SceneSlot(P, *record.scene(s), OWNER) for s in scene_ids]


def _price_now(world, used):
    world.usage.items[("price", "veo3_fast")] = {"samples": 3, "total": 3 * used}


def test_each_submit_moves_its_clips_share_as_held_not_at_todays_price(world, clock):
    [slot] = _claimed(world, "main")
    assert world.usage.held(OWNER, clock.now) == 160.0  # two clips at 80, one hold for the claim
    _price_now(world, 100.0)
    ledger.clip_submitted(slot, "veo_a", SYSTEM, 100.0, None, None)
    assert world.usage.held(OWNER, clock.now) == 80.0  # the first clip's 80 as held, not today's 100
    assert world.usage.day(OWNER, DAY).credits == 100.0


def test_a_rewrites_second_submit_of_the_same_sub_shot_moves_nothing_more(world, clock):
    [slot] = _claimed(world, "main")
    ledger.clip_submitted(slot, "veo_a", SYSTEM, 80.0, None, None)
    ledger.clip_submitted(slot, "veo_b", SYSTEM, 80.0, None, None)  # the refused prompt rewritten, sent again
    assert world.usage.held(OWNER, clock.now) == 80.0  # the second sub-shot's share is still held
    assert world.usage.day(OWNER, DAY).credits == 160.0  # both tasks count: Kie took both


def test_a_cancel_racing_an_in_flight_submit_releases_the_claim_once(world, clock):
    [slot] = _claimed(world, "main")
    ledger.release(slot, sent=False)  # the cancel read no task yet
    ledger.release(slot, sent=False)  # and a failure settling it too
    assert world.usage.held(OWNER, clock.now) == 0
    ledger.clip_submitted(slot, "veo_a", SYSTEM, 80.0, None, None)  # the submit in flight lands after
    assert world.usage.held(OWNER, clock.now) == 0 and world.usage.day(OWNER, DAY).credits == 80.0


def test_a_timeout_keeps_one_clips_share_held_and_a_sent_clip_releases_the_rest(world, clock):
    main, cta = _claimed(world, "main", "cta")
    ledger.release(main, sent=True)  # a timeout: no task known, the clip may be at Kie
    assert world.usage.held(OWNER, clock.now) == 80.0 + 160.0
    ledger.clip_submitted(cta, "veo_c", SYSTEM, 80.0, None, None)
    ledger.release(SceneSlot(P, cta.index, cta.scene.model_copy(update={"taskId": "veo_c"}), OWNER), sent=True)
    assert world.usage.held(OWNER, clock.now) == 80.0  # cta's sent clip is on the day, its second never goes
