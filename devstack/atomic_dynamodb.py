"""Make moto's DynamoDB requests atomic, as real DynamoDB's are.

moto checks a ConditionExpression and then writes, without a lock: two threads can both
pass the same condition. Its request handlers also copy and serialise the stored items
outside the backend (e.g. UpdateItem deep-copies the old item first), while another
request may be changing the same item in place. Every guard in this product (the
generation claim, the rate limit window, the breaker's probe election, per-scene writes)
relies on DynamoDB's atomic item operations, so the local stack and the tests run each
whole DynamoDB request, from parsing to the serialised answer, behind one lock.
"""

from __future__ import annotations

import functools
import threading

from moto.dynamodb.responses import DynamoHandler

_LOCK = threading.RLock()


def install() -> None:
    original = DynamoHandler.call_action
    if getattr(original, "_atomic", False):
        return

    @functools.wraps(original)
    def locked(self, *args, **kwargs):
        with _LOCK:
            return original(self, *args, **kwargs)

    locked._atomic = True
    DynamoHandler.call_action = locked
