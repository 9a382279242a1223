"""Make moto's DynamoDB writes atomic, as real DynamoDB's are.

moto checks a ConditionExpression and then writes, without a lock: two threads can both
pass the same condition. Every guard in this product (the generation claim, the rate
limit window, the breaker's probe election) relies on DynamoDB's atomic conditional
writes, so the local stack and the tests serialise moto's writes (and reads, so a read
never sees half a transaction) behind one lock.
"""

from __future__ import annotations

import functools
import threading

from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()
_METHODS = ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query", "scan")


def install() -> None:
    for name in _METHODS:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_atomic", False):
            continue

        @functools.wraps(original)
        def locked(self, *args, _original=original, **kwargs):
            with _LOCK:
                return _original(self, *args, **kwargs)

        locked._atomic = True
        setattr(DynamoDBBackend, name, locked)
