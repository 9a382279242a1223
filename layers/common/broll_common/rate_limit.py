"""Kie's submit limit (20 new requests per 10 s per key), shared by every Lambda instance.

An exact sliding window kept in DynamoDB (the breaker table, one item per key). A submit
takes a slot before it is sent and finishes it when Kie has answered; the slot's place in
the window is the answer's time, and a slot still in flight counts as taken. Kie saw the
request before we had its answer, and a later submit is sent after it is admitted, so any
21 submits reach Kie at least 10 s apart, whatever the network or our own latency.
Every change is a write conditional on the version read, so two instances never both take
the last slot. Written by hand because Powertools has no distributed rate limiter; a token
bucket would allow bursts that Kie's sliding window refuses.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
import uuid
from dataclasses import dataclass

from botocore.exceptions import ClientError

from .aws import client
from .config import settings

LIMIT = int(os.environ.get("KIE_SUBMITS_PER_WINDOW", 20))
WINDOW_S = 10.0
MARGIN_S = 0.1  # clock granularity between our timers and Kie's
# A slot never finished (its Lambda died mid-submit) is let go after this: longer than any submit.
IN_FLIGHT_MAX_S = 60.0
# A full window of slots still in flight frees up soon; look again after this.
IN_FLIGHT_RECHECK_S = 0.5


@dataclass
class Admission:
    admitted: bool
    retry_after: float = 0.0
    slot: str = ""


@dataclass
class _Window:
    version: int  # 0: no item stored yet
    finished: list[float]  # answer times
    in_flight: dict[str, float]  # slot -> when it was admitted

    def prune(self, now: float) -> None:
        horizon = now - WINDOW_S - MARGIN_S
        self.finished = sorted(t for t in self.finished if t > horizon)
        self.in_flight = {s: t for s, t in self.in_flight.items() if t > now - IN_FLIGHT_MAX_S}

    def retry_after(self, now: float) -> float:
        if self.in_flight:
            return IN_FLIGHT_RECHECK_S
        return self.finished[0] + WINDOW_S + MARGIN_S - now


def _item_id(api_key: str) -> str:
    # Never the key itself in storage: a short digest tells keys apart.
    return "kie-submit-window#" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def _read(api_key: str) -> tuple[dict, _Window]:
    """The stored window (freshly read, free to change before `_write`)."""
    key = {"id": {"S": _item_id(api_key)}}
    item = client("dynamodb").get_item(TableName=settings().breaker_table, Key=key, ConsistentRead=True).get("Item")
    if not item:
        return key, _Window(0, [], {})
    return key, _Window(
        version=int(item["version"]["N"]),
        finished=[float(v["N"]) for v in item.get("times", {}).get("L", [])],
        in_flight={slot: float(v["N"]) for slot, v in item.get("inFlight", {}).get("M", {}).items()},
    )


def _write(key: dict, window: _Window, now: float) -> bool:
    """Store the window if nobody changed it since it was read (False: read again)."""
    condition = {"ConditionExpression": "attribute_not_exists(id)"} if window.version == 0 else {
        "ConditionExpression": "version = :seen",
        "ExpressionAttributeValues": {":seen": {"N": str(window.version)}},
    }
    try:
        client("dynamodb").put_item(
            TableName=settings().breaker_table,
            Item=key | {
                "times": {"L": [{"N": repr(t)} for t in window.finished]},
                "inFlight": {"M": {slot: {"N": repr(t)} for slot, t in window.in_flight.items()}},
                "version": {"N": str(window.version + 1)},
                "expiration": {"N": str(int(now + 3600))},
            },
            **condition,
        )
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        time.sleep(random.uniform(0, 0.02))  # another instance wrote first
        return False


def try_admit(api_key: str, now: float | None = None, limit: int = LIMIT) -> Admission:
    """Take a slot if the window has one; the caller must `finish` it once Kie answers."""
    while True:
        current = now if now is not None else time.time()
        key, window = _read(api_key)
        window.prune(current)
        if len(window.finished) + len(window.in_flight) >= limit:
            return Admission(False, retry_after=window.retry_after(current))
        slot = uuid.uuid4().hex[:12]
        window.in_flight[slot] = current
        if _write(key, window, current):
            return Admission(True, slot=slot)


def finish(api_key: str, slot: str, now: float | None = None) -> None:
    """Kie has answered the slot's submit (whatever it said): it now counts from this moment."""
    while True:
        current = now if now is not None else time.time()
        key, window = _read(api_key)
        if slot not in window.in_flight:
            return  # let go as stale already: it counted as taken all along
        del window.in_flight[slot]
        window.finished.append(current)
        window.prune(current)
        if _write(key, window, current):
            return


def wait_for_slot(api_key: str, max_wait_s: float = 20.0) -> Admission:
    """Block until a slot is taken (admitted), or give up after max_wait_s (not admitted)."""
    give_up = time.monotonic() + max_wait_s
    while True:
        admission = try_admit(api_key)
        if admission.admitted or time.monotonic() + admission.retry_after > give_up:
            return admission
        time.sleep(admission.retry_after + random.uniform(0, 0.05))
