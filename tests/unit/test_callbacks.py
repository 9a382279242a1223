"""Signed Kie callbacks: constant-time check, stale timestamps refused."""

import pytest

from broll_common.logic.callbacks import BadSignature, expected_signature, verify

KEY = "webhook-secret"


def signed(task_id="veo_task_1", timestamp="1000"):
    return {"X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": expected_signature(task_id, timestamp, KEY)}


def test_a_correct_fresh_signature_passes():
    verify(signed(), "veo_task_1", KEY, now=1010)


def test_kie_md_example_signature_shape():
    # base64 of a 32-byte HMAC-SHA256
    assert len(expected_signature("t", "1", KEY)) == 44


@pytest.mark.parametrize(
    "headers,task_id,now",
    [
        ({}, "veo_task_1", 1000),
        (signed(), "veo_task_2", 1000),  # signature bound to another task
        (signed(timestamp="1000"), "veo_task_1", 1000 + 301),  # replayed later
        ({"X-Webhook-Timestamp": "1000", "X-Webhook-Signature": "AAAA"}, "veo_task_1", 1000),
        ({"X-Webhook-Timestamp": "soon", "X-Webhook-Signature": "AAAA"}, "veo_task_1", 1000),
    ],
)
def test_forged_missing_or_stale_callbacks_are_refused(headers, task_id, now):
    with pytest.raises(BadSignature) as refused:
        verify(headers, task_id, KEY, now=now)
    assert refused.value.status == 401


def test_without_a_key_nothing_is_checked():
    verify({}, "veo_task_1", key="")


def test_callbacks_are_trusted_on_evidence_since_the_clip_was_sent(monkeypatch):
    import boto3
    from moto import mock_aws

    from broll_common.logic import callback_health
    from broll_common.aws import reset_clients
    from broll_common.config import reset_settings

    monkeypatch.setenv("BREAKER_TABLE", "health")
    monkeypatch.setenv("KIE_CALLBACK_URL", "https://api.example/api/callbacks/kie")
    reset_settings()
    with mock_aws():
        reset_clients()
        boto3.client("dynamodb").create_table(
            TableName="health", AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
        )
        import time

        sent = time.time()
        assert not callback_health.trusted(since=sent)  # no evidence yet: poll densely
        callback_health.callback_arrived()
        assert callback_health.trusted(since=sent)  # a callback since this clip was sent
        assert not callback_health.trusted(since=time.time() + 1)  # ...but not since a later clip
        callback_health.callback_missed()
        assert not callback_health.trusted(since=sent)  # a look found one missing since
        callback_health.callback_arrived()
        assert callback_health.trusted(since=sent)
        monkeypatch.setenv("KIE_CALLBACK_URL", "")
        reset_settings()
        assert not callback_health.trusted(since=0)  # no callback URL, no callbacks
    reset_clients()
