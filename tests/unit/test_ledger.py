"""The credit ledger against fakes (tests/unit/generation_world.py): what a submit records, a charge
learnt from Kie's callback or from the balance when a submit was alone on its key, and the price
measured from charges."""

from __future__ import annotations

import pytest

from broll_common.clients.kie import KieUnavailable
from broll_common.clients.secrets import KieKey
from broll_common.logic import ledger, rate_limit
from broll_common.logic.generation import cancel, start_generation
from broll_common.models.domain import SceneSlot

from tests.unit.fakes import FakeKie
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


@pytest.mark.parametrize("balances", [
    [FakeKie.unavailable()], [1000.0, KieUnavailable(0, "timeout")], [1000.0, 1000.0],
])
def test_a_balance_that_cannot_be_read_or_did_not_drop_never_holds_up_the_submit(world, balances):
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
