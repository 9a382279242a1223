"""The one backoff policy: exponential, capped, equal jitter, repeatable with a seed."""

import random

import pytest

from broll_common.logic.backoff import Backoff


def test_nominal_schedule_grows_by_factor_then_caps():
    b = Backoff(first=2.0, factor=3.0, cap=50.0)
    assert b.schedule(6) == [2.0, 6.0, 18.0, 50.0, 50.0, 50.0]
    assert b.nominal(0) == 2.0
    assert b.nominal(2) == pytest.approx(18.0)


def test_nominal_never_exceeds_cap_even_for_huge_attempts():
    b = Backoff(first=30.0, factor=1.6, cap=60.0)
    assert b.schedule(3) == pytest.approx([30.0, 48.0, 60.0])
    assert all(b.nominal(i) <= 60.0 for i in range(200))
    assert b.nominal(1000) == 60.0


def test_schedule_is_non_decreasing():
    b = Backoff(first=1.0, factor=2.0, cap=8.0)
    values = b.schedule(10)
    assert values == sorted(values)
    assert values[:4] == [1.0, 2.0, 4.0, 8.0]
    assert b.schedule(0) == []


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 1.0])
def test_delay_stays_within_jitter_band(jitter):
    b = Backoff(first=1.0, factor=2.0, cap=16.0, jitter=jitter)
    rng = random.Random(7)
    for attempt in range(8):
        nominal = b.nominal(attempt)
        for _ in range(200):
            d = b.delay(attempt, rng)
            assert nominal * (1 - jitter) - 1e-9 <= d <= nominal + 1e-9


def test_delay_actually_varies_with_jitter():
    b = Backoff(first=10.0, factor=2.0, cap=100.0, jitter=0.5)
    rng = random.Random(1)
    values = {round(b.delay(3, rng), 6) for _ in range(50)}
    assert len(values) > 40
    assert min(values) < 80 * 0.6 and max(values) > 80 * 0.9


def test_zero_jitter_is_exactly_nominal():
    b = Backoff(first=3.0, factor=2.0, cap=20.0, jitter=0.0)
    assert [b.delay(i, random.Random(0)) for i in range(5)] == b.schedule(5)


def test_seeded_rng_is_repeatable():
    b = Backoff(first=1.0, factor=2.0, cap=8.0)
    first = [b.delay(i, random.Random(42)) for i in range(6)]
    second = [b.delay(i, random.Random(42)) for i in range(6)]
    assert first == second
    rng_a, rng_b = random.Random(99), random.Random(99)
    assert [b.delay(i, rng_a) for i in range(6)] == [b.delay(i, rng_b) for i in range(6)]
    other = [b.delay(i, random.Random(43)) for i in range(6)]
    assert other != first


def test_delay_without_rng_uses_module_random(monkeypatch):
    b = Backoff(first=4.0, factor=2.0, cap=8.0, jitter=0.5)
    random.seed(5)
    a = b.delay(1)
    random.seed(5)
    assert b.delay(1) == a
    assert 4.0 <= a <= 8.0


def test_poll_schedule_first_look_and_proportional_waits():
    import random

    from broll_common.logic.backoff import PollSchedule

    schedule = PollSchedule(first=60, callback_grace=180, factor=1.25, floor=5, cap=60, jitter=0)
    assert schedule.wait(0, 0, callbacks=False) == 60
    assert schedule.wait(0, 0, callbacks=True) == 60  # the first look is the same either way
    assert schedule.wait(1, 60, callbacks=True) == 120  # then, callbacks working: next at 180 s
    assert schedule.wait(1, 60, callbacks=False) == 15  # a quarter of the time spent
    assert schedule.wait(3, 10, callbacks=False) == 5  # floor
    assert schedule.wait(5, 600, callbacks=False) == 60  # cap
    # Poll times for a 180 s clip: at most 6 looks, each late by at most 25 % of elapsed.
    t, looks = 0.0, 0
    while t < 180:
        t += schedule.wait(looks, t, callbacks=False)
        looks += 1
    assert looks <= 6 and t - 180 <= 0.25 * 180
    jittered = PollSchedule(first=60, callback_grace=180, factor=1.25, floor=5, cap=60, jitter=0.1)
    rng = random.Random(7)
    assert all(54 <= jittered.wait(0, 0, False, rng) <= 60 for _ in range(50))
    # Jitter never makes a gap longer than the bound (here 25 % of the time spent).
    assert all(jittered.wait(4, 100, False, rng) <= 25 for _ in range(50))
