"""The shared sliding-window submit limit on moto DynamoDB."""

from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from broll_common import rate_limit
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


def test_twenty_per_ten_seconds_then_refused_until_the_oldest_leaves(table):
    t0 = 1000.0
    for i in range(20):
        assert rate_limit.try_admit("key-a", now=t0 + i * 0.1).admitted
    refused = rate_limit.try_admit("key-a", now=t0 + 5)
    assert not refused.admitted and refused.retry_after == pytest.approx(5.0 + rate_limit.MARGIN_S)
    assert not rate_limit.try_admit("key-a", now=t0 + 10.01).admitted  # still inside our margin
    assert rate_limit.try_admit("key-a", now=t0 + 10.51).admitted  # the first left the window
    assert not rate_limit.try_admit("key-a", now=t0 + 10.52).admitted


def test_keys_are_limited_separately_and_never_stored(table):
    for _ in range(20):
        assert rate_limit.try_admit("key-a", now=50.0).admitted
    assert rate_limit.try_admit("key-b", now=50.0).admitted
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    assert all("key-a" not in str(item) and "key-b" not in str(item) for item in items)


def test_concurrent_instances_never_admit_more_than_the_limit(table):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: rate_limit.try_admit("key-c", now=500.0).admitted, range(40)))
    assert results.count(True) == 20
