"""The breaker table's own items, one owner: Kie's submit lanes (rate_limit), the fleet's failure
count (breaker.FleetFailures) and callback health (callback_health).

The rules live in those modules; this module only knows the items (their `id`s and fields)
and keeps each conditional write exactly: a method answers False (or None) when its
condition no longer holds, and never retries on its own. Numbers go on the wire as strings.
Powertools' circuit item (`id` = the circuit's name) shares the table and is written by
Powertools itself.
"""

from __future__ import annotations

from typing import Protocol

from botocore.exceptions import ClientError

from ..aws import client
from ..config import settings
from ..ports import Port

SUBMIT_WINDOW_PREFIX = "kie-submit-window#"  # + a digest of the Kie key, never the key
FLEET_FAILURES_SUFFIX = "#fleet-failures"  # after the circuit's name
CALLBACK_HEALTH_ID = "kie-callbacks#health"
DOWN_SINCE_SUFFIX = "#down-since"  # after the circuit's name
EXPIRES_AFTER_S = 3600  # every item here is short-lived state: DynamoDB's TTL removes it


class Coordination(Protocol):
    # Submit lanes: per window, lane n has h<n> (held at, a submit in flight) and d<n> (done at).
    def read_lanes(self, window: str, limit: int) -> list[tuple[float | None, float | None]]: ...

    def take_lane(self, window: str, lane: int, now: float, stale_before: float, free_before: float) -> bool:
        """Hold the lane at `now` only if it is not held since `stale_before` and not done since `free_before`."""
        ...

    def finish_lane(self, window: str, lane: int, held: str, answered: float) -> bool:
        """Mark the lane done at `answered` and let it go, only while it is still held at `held`."""
        ...

    # The fleet's failures in one window (breaker.FleetFailures).
    def add_fleet_failure(self, circuit: str, window_after: int) -> int | None:
        """Count a failure in the window started after `window_after`: the new count, or None if there is none."""
        ...

    def open_fleet_window(self, circuit: str, now: int, window_after: int) -> bool:
        """Start a window at `now` with one failure, unless one started after `window_after` exists."""
        ...

    def reset_fleet_failures(self, circuit: str) -> None: ...

    # Callback health (callback_health).
    def mark_callback_arrived(self, at: float) -> None: ...

    def mark_callback_missed(self, at: float) -> None: ...

    def callback_times(self) -> tuple[float, float]:
        """(last callback arrived at, last callback missed at), 0 for never."""
        ...

    # Since when the circuit has been open without closing (breaker.open_seconds).
    def circuit_down_since(self, circuit: str, opened_at: int, now: float) -> float:
        """The first `opened_at` recorded since the circuit last closed (this one if none)."""
        ...

    def clear_circuit_down(self, circuit: str) -> None: ...


def _number(value: float | int) -> dict:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


class DynamoCoordination:
    """The breaker table (settings().breaker_table unless named)."""

    def __init__(self, table: str | None = None):
        self._named = table

    @property
    def _table(self) -> str:
        return self._named or settings().breaker_table

    def _conditional(self, **request) -> dict | None:
        """One conditional UpdateItem: its answer, or None when the condition did not hold."""
        try:
            return client("dynamodb").update_item(TableName=self._table, **request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return None

    # -- submit lanes -----------------------------------------------------------------------

    @staticmethod
    def _window_key(window: str) -> dict:
        return {"id": {"S": SUBMIT_WINDOW_PREFIX + window}}

    def read_lanes(self, window: str, limit: int) -> list[tuple[float | None, float | None]]:
        item = client("dynamodb").get_item(
            TableName=self._table, Key=self._window_key(window), ConsistentRead=True
        ).get("Item", {})

        def number(name: str) -> float | None:
            return float(item[name]["N"]) if name in item else None

        return [(number(f"h{lane}"), number(f"d{lane}")) for lane in range(limit)]

    def _write_lane(
        self, window: str, assignment: str, condition: str, values: dict, now: float, remove: str = ""
    ) -> bool:
        expression = f"SET {assignment}, expiration = :expires" + (f" REMOVE {remove}" if remove else "")
        return self._conditional(
            Key=self._window_key(window), UpdateExpression=expression, ConditionExpression=condition,
            ExpressionAttributeValues=values | {":expires": _number(int(now + EXPIRES_AFTER_S))},
        ) is not None

    def take_lane(self, window: str, lane: int, now: float, stale_before: float, free_before: float) -> bool:
        condition = (
            f"(attribute_not_exists(h{lane}) OR h{lane} <= :stale) AND "
            f"(attribute_not_exists(d{lane}) OR d{lane} <= :horizon)"
        )
        values = {":now": _number(now), ":stale": _number(stale_before), ":horizon": _number(free_before)}
        return self._write_lane(window, f"h{lane} = :now", condition, values, now)

    def finish_lane(self, window: str, lane: int, held: str, answered: float) -> bool:
        return self._write_lane(
            window, f"d{lane} = :answered", f"h{lane} = :held",
            {":answered": _number(answered), ":held": {"N": held}}, answered, remove=f"h{lane}",
        )

    # -- fleet failures ---------------------------------------------------------------------

    @staticmethod
    def _fleet_key(circuit: str) -> dict:
        return {"id": {"S": circuit + FLEET_FAILURES_SUFFIX}}

    def add_fleet_failure(self, circuit: str, window_after: int) -> int | None:
        answer = self._conditional(
            Key=self._fleet_key(circuit), UpdateExpression="ADD failures :one",
            ConditionExpression="window_start > :cutoff",
            ExpressionAttributeValues={":one": _number(1), ":cutoff": _number(window_after)},
            ReturnValues="UPDATED_NEW",
        )
        return None if answer is None else int(answer["Attributes"]["failures"]["N"])

    def open_fleet_window(self, circuit: str, now: int, window_after: int) -> bool:
        return self._conditional(
            Key=self._fleet_key(circuit),
            UpdateExpression="SET failures = :one, window_start = :now, expiration = :ttl",
            ConditionExpression="attribute_not_exists(window_start) OR window_start <= :cutoff",
            ExpressionAttributeValues={
                ":one": _number(1), ":now": _number(now), ":ttl": _number(now + EXPIRES_AFTER_S),
                ":cutoff": _number(window_after),
            },
        ) is not None

    def reset_fleet_failures(self, circuit: str) -> None:
        self._conditional(
            Key=self._fleet_key(circuit), UpdateExpression="SET failures = :zero",
            ConditionExpression="failures > :zero", ExpressionAttributeValues={":zero": _number(0)},
        )

    # -- callback health --------------------------------------------------------------------

    def _mark(self, field: str, at: float) -> None:
        client("dynamodb").update_item(
            TableName=self._table, Key={"id": {"S": CALLBACK_HEALTH_ID}},
            UpdateExpression=f"SET {field} = :now", ExpressionAttributeValues={":now": _number(at)},
        )

    def mark_callback_arrived(self, at: float) -> None:
        self._mark("last_callback_at", at)

    def mark_callback_missed(self, at: float) -> None:
        self._mark("last_missed_at", at)

    def callback_times(self) -> tuple[float, float]:
        item = client("dynamodb").get_item(TableName=self._table, Key={"id": {"S": CALLBACK_HEALTH_ID}}).get("Item", {})
        return float(item.get("last_callback_at", {}).get("N", 0)), float(item.get("last_missed_at", {}).get("N", 0))

    # -- down since -------------------------------------------------------------------------

    @staticmethod
    def _down_key(circuit: str) -> dict:
        return {"id": {"S": circuit + DOWN_SINCE_SUFFIX}}

    def circuit_down_since(self, circuit: str, opened_at: int, now: float) -> float:
        answer = client("dynamodb").update_item(
            TableName=self._table, Key=self._down_key(circuit),
            UpdateExpression="SET down_since = if_not_exists(down_since, :opened), expiration = :ttl",
            ExpressionAttributeValues={":opened": _number(opened_at), ":ttl": _number(int(now) + EXPIRES_AFTER_S)},
            ReturnValues="ALL_NEW",
        )
        return float(answer["Attributes"]["down_since"]["N"])

    def clear_circuit_down(self, circuit: str) -> None:
        client("dynamodb").delete_item(TableName=self._table, Key=self._down_key(circuit))


get_coordination: Port[Coordination] = Port(DynamoCoordination)
