"""The credit ledger's items in the usage table (`pk` / `sk`, TTL `expiresAt`), one owner.

- a clip (one Kie task): `user#{sub}` / `clip#{taskId}`, and a pointer `task#{taskId}` / `clip`
  naming its user (a callback knows only the task);
- totals: `project#{id}` / `total` and `user#{sub}` / `total` (ADD clips, estimatedCredits,
  chargedCredits, chargedClips);
- a user's UTC day: `user#{sub}` / `day#{YYYY-MM-DD}` (ADD credits, prompts; expires);
- one user's quota override: `user#{sub}` / `quota` (dailyCredits), written by an admin;
- the measured price: `price` / `{model}` (ADD samples, total);
- credits held for one claim's clips not yet at Kie: `user#{sub}` /
  `hold#{projectId}#{sceneId}#{generation}` (credits, clips, share = credits per clip as held,
  `sent{n}` per sub-shot whose share moved; expires).

A clip and its totals are written in one transaction, conditional on the clip (or its charge)
not being there yet: a repeated write (a callback delivered twice) adds nothing. The rules
(what counts toward a day, when a price is measured) are logic/ledger.py's and quota.py's.
Numbers go on the wire as strings. A failed ledger write is logged, never raised: the clip it
records is already at Kie and must go on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from ..aws import client
from ..config import settings
from ..ports import Port

logger = Logger(child=True)

HOLD_WRITE_ATTEMPTS = 5  # BatchWriteItem calls for one batch of holds, while some come back unprocessed


@dataclass(frozen=True)
class ClipEntry:
    owner: str
    task_id: str
    project_id: str
    scene_id: str
    estimate: float
    key_owner: str  # "system" | "user"
    at: float
    day: str  # YYYY-MM-DD (UTC) of the submit: the day its credits count toward
    charged: float | None = None
    charge_source: str | None = None  # "creditsConsumed" | "balance"


@dataclass(frozen=True)
class Totals:
    clips: int = 0
    estimated: float = 0.0
    charged: float = 0.0
    charged_clips: int = 0


@dataclass(frozen=True)
class Hold:
    claim: str  # "{projectId}#{sceneId}#{generation}"
    credits: float
    clips: int


@dataclass(frozen=True)
class DayCount:
    credits: float = 0.0
    prompts: int = 0


class Usage(Protocol):
    def record_clip(
        self, entry: ClipEntry, day_credits: float | None, day_expires: int, price_model: str | None,
    ) -> bool:
        """The clip, its project's and user's totals, `day_credits` on its day (None: none) and, with
        `price_model`, its charge as a price sample; False when the clip was already recorded."""
        ...

    def clip(self, task_id: str) -> ClipEntry | None: ...

    def record_charge(
        self, entry: ClipEntry, charged: float, source: str, day_delta: float | None, price_model: str,
    ) -> bool:
        """A charge learnt later: on the clip, the totals, `day_delta` on its day, a price sample;
        False when the clip already had one."""
        ...

    def totals(self, scope: str) -> Totals:
        """`project#{id}` or `user#{sub}`."""
        ...

    def day(self, owner: str, day: str) -> DayCount: ...

    def add_prompt(self, owner: str, day: str, credits: float, expires: int) -> None: ...

    def quota_override(self, owner: str) -> float | None: ...

    def price(self, model: str) -> tuple[int, float]:
        """(samples, total credits) of the charges measured for this model."""
        ...

    def hold(self, owner: str, holds: list[Hold], expires: int) -> None:
        """One item per claim: its credits and clips held until `expires`."""
        ...

    def take_held(self, owner: str, claim: str, shot: int) -> bool:
        """One clip's share of the claim's hold (its credits / clips, as held) off it, once per
        sub-shot `shot`; False when none was held or that sub-shot's share moved already."""
        ...

    def release(self, owner: str, claim: str, keep_one: bool) -> None:
        """Whatever the claim still holds comes off (but one clip's share with `keep_one`), atomically."""
        ...

    def held(self, owner: str, now: float) -> float:
        """The user's credits held by every project, those not expired by `now`."""
        ...


def _n(value: float | int) -> dict:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _number(item: dict, name: str, default: float = 0.0) -> float:
    return float(item[name]["N"]) if name in item else default


class DynamoUsage:
    """The usage table (settings().usage_table, looked up at each call)."""

    @property
    def _table(self) -> str:
        return settings().usage_table

    def _update(
        self, key: dict, adds: dict[str, float], sets: dict[str, dict] | None = None, condition: str | None = None,
    ) -> dict:
        """One UpdateItem's parameters (also a transaction part): ADD every number in `adds`, SET `sets`."""
        names = {f"#a{i}": name for i, name in enumerate(adds)} | {f"#s{i}": name for i, name in enumerate(sets or {})}
        values = {f":a{i}": _n(value) for i, value in enumerate(adds.values())}
        values |= {f":s{i}": value for i, value in enumerate((sets or {}).values())}
        clauses = ["ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(adds)))] if adds else []
        if sets:
            clauses.append("SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets))))
        expression = " ".join(clauses)
        update = {"TableName": self._table, "Key": key, "UpdateExpression": expression,
                  "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
        return update | ({"ConditionExpression": condition} if condition else {})

    def _transact(self, parts: list[dict], what: str, task_id: str) -> bool:
        try:
            client("dynamodb").transact_write_items(TransactItems=parts)
            return True
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                return False  # written before (a repeated delivery): nothing is added twice
            logger.warning("ledger not written", extra={"what": what, "taskId": task_id, "error": str(exc)})
            return False

    def _totals_parts(self, entry: ClipEntry, adds: dict[str, float]) -> list[dict]:
        scopes = (f"project#{entry.project_id}", f"user#{entry.owner}")
        return [{"Update": self._update(_key(scope, "total"), adds)} for scope in scopes]

    def _day_part(self, entry: ClipEntry, credits: float, expires: int | None) -> dict:
        sets = {"expiresAt": _n(expires)} if expires is not None else None
        return {"Update": self._update(_key(f"user#{entry.owner}", f"day#{entry.day}"), {"credits": credits}, sets)}

    def _price_part(self, model: str, charged: float) -> dict:
        return {"Update": self._update(_key("price", model), {"samples": 1, "total": charged})}

    def record_clip(self, entry, day_credits, day_expires, price_model):
        item = _key(f"user#{entry.owner}", f"clip#{entry.task_id}") | {
            "projectId": {"S": entry.project_id}, "sceneId": {"S": entry.scene_id}, "estimate": _n(entry.estimate),
            "keyOwner": {"S": entry.key_owner}, "at": _n(entry.at), "day": {"S": entry.day},
        }
        if entry.charged is not None:
            item |= {"charged": _n(entry.charged), "chargeSource": {"S": entry.charge_source or ""}}
        pointer = _key(f"task#{entry.task_id}", "clip") | {"owner": {"S": entry.owner}}
        new = "attribute_not_exists(pk)"
        parts = [
            {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": new}},
            {"Put": {"TableName": self._table, "Item": pointer, "ConditionExpression": new}},
        ]
        adds = {"clips": 1, "estimatedCredits": entry.estimate}
        if entry.charged is not None:
            adds |= {"chargedCredits": entry.charged, "chargedClips": 1}
        parts += self._totals_parts(entry, adds)
        if day_credits is not None:
            parts.append(self._day_part(entry, day_credits, day_expires))
        if price_model and entry.charged is not None:
            parts.append(self._price_part(price_model, entry.charged))
        return self._transact(parts, "clip", entry.task_id)

    def clip(self, task_id):
        ddb = client("dynamodb")
        pointer = ddb.get_item(TableName=self._table, Key=_key(f"task#{task_id}", "clip")).get("Item")
        if not pointer:
            return None
        owner = pointer["owner"]["S"]
        key = _key(f"user#{owner}", f"clip#{task_id}")
        item = ddb.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if not item:
            return None
        return ClipEntry(
            owner=owner, task_id=task_id, project_id=item["projectId"]["S"], scene_id=item["sceneId"]["S"],
            estimate=_number(item, "estimate"), key_owner=item["keyOwner"]["S"], at=_number(item, "at"),
            day=item["day"]["S"], charged=_number(item, "charged") if "charged" in item else None,
            charge_source=item.get("chargeSource", {}).get("S"),
        )

    def record_charge(self, entry, charged, source, day_delta, price_model):
        clip = self._update(
            _key(f"user#{entry.owner}", f"clip#{entry.task_id}"), {},
            {"charged": _n(charged), "chargeSource": {"S": source}},
            condition="attribute_exists(pk) AND attribute_not_exists(charged)",
        )
        parts = [{"Update": clip}, *self._totals_parts(entry, {"chargedCredits": charged, "chargedClips": 1})]
        if day_delta:
            parts.append(self._day_part(entry, day_delta, None))
        parts.append(self._price_part(price_model, charged))
        return self._transact(parts, "charge", entry.task_id)

    def _get(self, pk: str, sk: str) -> dict:
        return client("dynamodb").get_item(TableName=self._table, Key=_key(pk, sk), ConsistentRead=True).get("Item", {})

    def totals(self, scope):
        item = self._get(scope, "total")
        return Totals(int(_number(item, "clips")), _number(item, "estimatedCredits"),
                      _number(item, "chargedCredits"), int(_number(item, "chargedClips")))

    def day(self, owner, day):
        item = self._get(f"user#{owner}", f"day#{day}")
        return DayCount(_number(item, "credits"), int(_number(item, "prompts")))

    def add_prompt(self, owner, day, credits, expires):
        update = self._update(_key(f"user#{owner}", f"day#{day}"), {"credits": credits, "prompts": 1},
                              {"expiresAt": _n(expires)})
        try:
            client("dynamodb").update_item(**update)
        except ClientError as exc:
            logger.warning("prompt not counted", extra={"error": str(exc)})

    def quota_override(self, owner):
        item = self._get(f"user#{owner}", "quota")
        return _number(item, "dailyCredits") if "dailyCredits" in item else None

    def price(self, model):
        item = self._get("price", model)
        return int(_number(item, "samples")), _number(item, "total")

    def hold(self, owner, holds, expires):
        puts = [{"PutRequest": {"Item": _key(f"user#{owner}", f"hold#{h.claim}") | {
            "credits": _n(float(h.credits)), "clips": _n(h.clips), "share": _n(float(h.credits / h.clips)),
            "expiresAt": _n(expires)}}} for h in holds if h.clips > 0]
        ddb = client("dynamodb")
        try:
            for first in range(0, len(puts), 25):  # BatchWriteItem's limit
                pending = {self._table: puts[first:first + 25]}
                for attempt in range(HOLD_WRITE_ATTEMPTS):
                    if attempt:
                        time.sleep(0.05 * 2 ** attempt)  # unprocessed (throttled): again, a little later
                    pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                    if not pending:
                        break
                if pending:
                    logger.warning("credits not held", extra={"claims": len(pending[self._table])})
        except ClientError as exc:
            logger.warning("credits not held", extra={"error": str(exc)})

    def _conditional(self, update: dict, what: str, claim: str) -> bool:
        try:
            client("dynamodb").update_item(**update)
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                logger.warning(what, extra={"claim": claim, "error": str(exc)})
            return False

    def _held_update(self, owner: str, claim: str, expression: str, condition: str, values: dict, names: dict) -> dict:
        return {
            "TableName": self._table, "Key": _key(f"user#{owner}", f"hold#{claim}"), "UpdateExpression": expression,
            "ConditionExpression": condition, "ExpressionAttributeValues": values, "ExpressionAttributeNames": names,
        }

    def take_held(self, owner, claim, shot):
        # `share` is a reserved word: the names go through placeholders.
        names = {"#credits": "credits", "#clips": "clips", "#share": "share", "#sent": f"sent{shot}"}
        update = self._held_update(
            owner, claim, "SET #credits = #credits - #share, #clips = #clips - :one, #sent = :one",
            "#clips >= :one AND attribute_not_exists(#sent)", {":one": _n(1)}, names,
        )
        return self._conditional(update, "hold not moved to the day", claim)

    def release(self, owner, claim, keep_one):
        names = {"#credits": "credits", "#clips": "clips"}
        if keep_one:  # one clip's share, as held
            update = self._held_update(owner, claim, "SET #credits = #share, #clips = :one", "#clips > :one",
                                       {":one": _n(1)}, names | {"#share": "share"})
        else:
            update = self._held_update(owner, claim, "SET #credits = :zero, #clips = :zero", "#clips > :zero",
                                       {":zero": _n(0)}, names)
        self._conditional(update, "hold not released", claim)

    def held(self, owner, now):
        # Every page: released holds stay until TTL removes them (lazily, up to ~48 h), so a busy user's
        # holds can pass one 1 MB page.
        pages = client("dynamodb").get_paginator("query").paginate(
            TableName=self._table, KeyConditionExpression="pk = :pk AND begins_with(sk, :hold)",
            ExpressionAttributeValues={":pk": {"S": f"user#{owner}"}, ":hold": {"S": "hold#"}}, ConsistentRead=True,
        )
        # TTL deletes lazily: an expired hold (its clips never reached Kie) no longer counts.
        return sum(max(0.0, _number(item, "credits")) for page in pages for item in page.get("Items", [])
                   if _number(item, "expiresAt") > now)


get_usage: Port[Usage] = Port(DynamoUsage)
