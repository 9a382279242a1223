"""boto3 clients, created on first use (never at import) and reused across invocations."""

from __future__ import annotations

from functools import lru_cache

import boto3
from botocore.config import Config


@lru_cache(maxsize=None)
def client(service: str):
    # AWS_ENDPOINT_URL (the local stack, tests) is honoured by boto3 itself.
    retries = {"retries": {"mode": "standard", "max_attempts": 3}}
    # S3 signs with SigV4: boto3 still presigns with SigV2 by default, which S3 refuses in newer
    # regions and (in MiniStack) with response-* overrides such as the ZIP's download name.
    signing = {"signature_version": "s3v4"} if service == "s3" else {}
    return boto3.client(service, config=Config(**retries, **signing))


def reset_clients() -> None:
    client.cache_clear()
