"""Whether Kie's callbacks are arriving, shared by every instance (breaker table).

With callbacks working the poll loop is only a safety net and can look rarely; when a
look finds a finished task whose callback never came, callbacks are taken as broken and
every loop polls densely until a callback arrives again.
"""

from __future__ import annotations

import time

from .aws import client
from .config import settings

ITEM = {"id": {"S": "kie-callbacks#health"}}


def _mark(field: str) -> None:
    client("dynamodb").update_item(
        TableName=settings().breaker_table, Key=ITEM,
        UpdateExpression=f"SET {field} = :now", ExpressionAttributeValues={":now": {"N": repr(time.time())}},
    )


def callback_arrived() -> None:
    _mark("last_callback_at")


def callback_missed() -> None:
    _mark("last_missed_at")


def healthy() -> bool:
    """Callbacks are trusted until a look finds one missing (then until one arrives again)."""
    if not settings().kie_callback_url:
        return False
    item = client("dynamodb").get_item(TableName=settings().breaker_table, Key=ITEM).get("Item", {})
    arrived = float(item.get("last_callback_at", {}).get("N", 0))
    missed = float(item.get("last_missed_at", {}).get("N", 0))
    return arrived >= missed
