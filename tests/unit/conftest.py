"""Unit tests run offline: fake AWS credentials, no endpoint override, fresh cached settings/clients."""

import pytest

from broll_common import aws, config
from broll_common.observability import metrics
from devstack import atomic_dynamodb

# moto's conditional writes are not atomic across threads; real DynamoDB's are.
atomic_dynamodb.install()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    # A developer's own keys must never reach a unit test (it would call the real service).
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE",
                 "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "KIE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    # No EMF lines in the test output, and no figures carried from one test to the next
    # (tests/unit/test_observability.py turns them on where it reads them).
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics.clear_metrics()
    config.reset_settings()
    aws.reset_clients()
    yield
    metrics.clear_metrics()
    config.reset_settings()
    aws.reset_clients()
