"""boto3 clients, created on first use (never at import) and reused across invocations."""

from __future__ import annotations

from functools import lru_cache

import boto3
from botocore.config import Config


@lru_cache(maxsize=None)
def client(service: str):
    # AWS_ENDPOINT_URL (the local stack, tests) is honoured by boto3 itself.
    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 3}))


def reset_clients() -> None:
    client.cache_clear()
