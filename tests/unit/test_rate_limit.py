"""The shared sliding-window submit limit on moto DynamoDB."""

from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from broll_common.logic import rate_limit
from broll_common.aws import reset_clients
from broll_common.config import reset_settings


@pytest.fixture
def table(monkeypatch):
    monkeypatch.setenv("BREAKER_TABLE", "breaker_rl")
    reset_settings()
    with mock_aws():
        reset_clients()
        boto3.client("dynamodb").create_table(
            TableName="breaker_rl",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield "breaker_rl"
        reset_clients()


def _submit(key: str, at: float, answered_after: float = 0.0) -> bool:
    admission = rate_limit.try_admit(key, now=at)
    if admission.admitted:
        rate_limit.finish(key, admission.slot, now=at + answered_after)
    return admission.admitted


def test_twenty_per_ten_seconds_then_refused_until_the_oldest_leaves(table):
    t0 = 1000.0
    for i in range(20):
        assert _submit("key-a", t0 + i * 0.1)
    refused = rate_limit.try_admit("key-a", now=t0 + 5)
    assert not refused.admitted and refused.retry_after == pytest.approx(5.0 + rate_limit.MARGIN_S)
    # Each lane frees 10 s after its answer: waiting loops spread over these instead of all asking at once.
    assert refused.free_in == pytest.approx([5.0 + rate_limit.MARGIN_S + i * 0.1 for i in range(20)])
    assert not rate_limit.try_admit("key-a", now=t0 + 10.05).admitted  # still inside our margin
    assert _submit("key-a", t0 + 10.11)  # the first left the window
    assert not rate_limit.try_admit("key-a", now=t0 + 10.12).admitted


def test_the_window_counts_from_kies_answer_not_from_admission(table):
    """A slow submit (answered 3 s after it was admitted) may have reached Kie at any moment
    in between, so its place in the window is the answer's time."""
    t0 = 2000.0
    assert _submit("key-s", t0, answered_after=3.0)
    for i in range(19):
        assert _submit("key-s", t0 + 1 + i * 0.1)
    assert not rate_limit.try_admit("key-s", now=t0 + 11).admitted  # 10 s after admission, not after the answer
    assert rate_limit.try_admit("key-s", now=t0 + 13.11).admitted


def test_a_slot_in_flight_counts_as_taken_until_it_is_stale(table):
    t0 = 3000.0
    taken = [rate_limit.try_admit("key-f", now=t0) for _ in range(20)]
    assert all(a.admitted for a in taken)
    soon = rate_limit.try_admit("key-f", now=t0 + 1)
    expected = rate_limit.ANSWER_S + rate_limit.WINDOW_S + rate_limit.MARGIN_S - 1
    assert not soon.admitted and soon.retry_after == pytest.approx(expected)  # once answered, 10 s on
    refused = rate_limit.try_admit("key-f", now=t0 + 30)
    assert not refused.admitted and refused.retry_after == rate_limit.IN_FLIGHT_RECHECK_S  # slower than usual
    rate_limit.finish("key-f", taken[0].slot, now=t0 + 30)
    assert not rate_limit.try_admit("key-f", now=t0 + 35).admitted  # finished at +30: counts until +40
    # A Lambda that died mid-submit never finishes; its slot is let go after IN_FLIGHT_MAX_S.
    assert rate_limit.try_admit("key-f", now=t0 + rate_limit.IN_FLIGHT_MAX_S + 0.5).admitted


def test_keys_are_limited_separately_and_never_stored(table):
    for _ in range(20):
        assert _submit("key-a", 50.0)
    assert _submit("key-b", 50.0)
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    assert all("key-a" not in str(item) and "key-b" not in str(item) for item in items)


def test_concurrent_instances_never_admit_more_than_the_limit(table):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: rate_limit.try_admit("key-c", now=500.0).admitted, range(40)))
    assert results.count(True) == 20
