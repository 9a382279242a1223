"""Kie's submit limit (20 new requests per 10 s per key), shared by every Lambda instance.

An exact sliding window kept in DynamoDB (the breaker table, one item per key): the item
holds the times of the recent submits and a version; a submit is admitted by a write
conditional on the version it read, so two instances can never both take the last slot.
Written by hand because Powertools has no distributed rate limiter; a token bucket would
allow bursts that Kie's sliding window refuses.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from .aws import client
from .config import settings

LIMIT = int(os.environ.get("KIE_SUBMITS_PER_WINDOW", 20))
WINDOW_S = 10.0
# Our window is a little longer than Kie's: a submit admitted here reaches Kie a moment
# later, and two such delays could otherwise put 21 arrivals inside Kie's 10 s.
MARGIN_S = 0.5


@dataclass
class Admission:
    admitted: bool
    retry_after: float = 0.0


def _item_id(api_key: str) -> str:
    # Never the key itself in storage: a short digest tells keys apart.
    return "kie-submit-window#" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def try_admit(api_key: str, now: float | None = None, limit: int = LIMIT) -> Admission:
    ddb, table = client("dynamodb"), settings().breaker_table
    key = {"id": {"S": _item_id(api_key)}}
    while True:
        current = now if now is not None else time.time()
        item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})
        version = int(item.get("version", {}).get("N", "0"))
        recent = sorted(float(v["N"]) for v in item.get("times", {}).get("L", []))
        recent = [t for t in recent if t > current - WINDOW_S - MARGIN_S]
        if len(recent) >= limit:
            return Admission(False, retry_after=recent[0] + WINDOW_S + MARGIN_S - current)
        condition = "attribute_not_exists(id)" if not item else "version = :seen"
        values = {":seen": {"N": str(version)}} if item else {}
        try:
            ddb.put_item(
                TableName=table,
                Item=key | {
                    "times": {"L": [{"N": repr(t)} for t in recent + [current]]},
                    "version": {"N": str(version + 1)},
                    "expiration": {"N": str(int(current + 3600))},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
            return Admission(True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # Another instance wrote first: read again.
            time.sleep(random.uniform(0, 0.02))


def wait_for_slot(api_key: str, max_wait_s: float = 20.0) -> bool:
    """Block until a submit slot is free (True), or give up after max_wait_s (False)."""
    give_up = time.monotonic() + max_wait_s
    while True:
        admission = try_admit(api_key)
        if admission.admitted:
            return True
        if time.monotonic() + admission.retry_after > give_up:
            return False
        time.sleep(admission.retry_after + random.uniform(0, 0.05))
