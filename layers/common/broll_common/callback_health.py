"""Whether Kie's callbacks are arriving, shared by every instance (breaker table).

With callbacks working the poll loop is only a safety net and can look rarely. A loop
trusts them on evidence only: a callback has arrived since its own clip was sent, and no
look has found a finished task whose callback never came since then. Without that (the
first clip after a quiet spell, callbacks dropped or never configured) it polls densely,
so a dropped callback costs a share of the generation time, not minutes.
"""

from __future__ import annotations

import time

from .aws import client
from .callbacks import callback_base_url
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


def trusted(since: float) -> bool:
    """A callback has arrived since `since` (a clip's submit) and none was missed after it."""
    if not callback_base_url():
        return False
    item = client("dynamodb").get_item(TableName=settings().breaker_table, Key=ITEM).get("Item", {})
    arrived = float(item.get("last_callback_at", {}).get("N", 0))
    missed = float(item.get("last_missed_at", {}).get("N", 0))
    return arrived >= since and arrived >= missed
