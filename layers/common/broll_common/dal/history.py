"""Every scene's history: prompts (and who wrote them), Kie tasks, outcomes and clips.

Kept in its own table (`scene_history`, hash `scene_key` = "{projectId}#{sceneId}",
range `at` = epoch milliseconds), not in the step-7 item: a project's scenes share one
DynamoDB item (400 KB at most), and history only grows. Nothing here is deleted
with a regenerate (only with its project), so an older clip can be made current again without paying twice.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from ..config import settings
from ..models.errors import NotFound
from ..ports import Port
from .projects import bind_table, plain

logger = Logger(child=True)

KINDS = ("prompt", "generation", "clip", "failed", "rewrite", "cancelled", "selected")


class HistoryEntry(Model):
    class Meta:
        table_name = "scene_history"  # resolved when first used (see _bind)

    scene_key = UnicodeAttribute(hash_key=True)
    at = NumberAttribute(range_key=True)  # epoch ms; also the entry's id
    kind = UnicodeAttribute()
    data = MapAttribute(default=dict)


def _bind() -> type[HistoryEntry]:
    return bind_table(HistoryEntry, settings().history_table)


def _key(project_id: str, scene_id: str) -> str:
    return f"{project_id}#{scene_id}"


def record(project_id: str, scene_id: str, kind: str, **fields: Any) -> int | None:
    """Add one entry (None fields are left out); returns its id. History is a record of
    what happened, never a reason for it not to: a failed write is logged, not raised."""
    assert kind in KINDS, kind
    model = _bind()
    at = int(time.time() * 1000)
    data = {k: v for k, v in fields.items() if v is not None}
    # Two entries of one scene in the same millisecond: the later one moves on by a tick.
    for _ in range(20):
        try:
            model(_key(project_id, scene_id), at, kind=kind, data=data).save(condition=model.at.does_not_exist())
            return at
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                logger.warning("history entry not written", extra={"projectId": project_id, "kind": kind, "error": str(exc)})
                return None
            at += 1
    return None


def entries(project_id: str, scene_id: str, limit: int = 200) -> list[dict]:
    """Newest first: {id, at (ms), kind, ...fields}."""
    model = _bind()
    found = model.query(_key(project_id, scene_id), scan_index_forward=False, limit=limit, consistent_read=True)
    return [{"id": item.at, "kind": item.kind, **plain(item.data)} for item in found]


def entry(project_id: str, scene_id: str, entry_id: int) -> dict:
    model = _bind()
    try:
        item = model.get(_key(project_id, scene_id), entry_id, consistent_read=True)
    except model.DoesNotExist as exc:
        raise NotFound(f"History entry {entry_id} was not found for scene '{scene_id}'.") from exc
    return {"id": item.at, "kind": item.kind, **plain(item.data)}


def delete_scenes(project_id: str, scene_ids: list[str]) -> None:
    """Every entry of these scenes (a deleted project): a later project of the same id, maybe
    somebody else's, must not inherit them."""
    model = _bind()
    with model.batch_write() as batch:
        for scene_id in scene_ids:
            for item in model.query(_key(project_id, scene_id), attributes_to_get=["scene_key", "at"]):
                batch.delete(item)


class History(Protocol):
    def record(self, project_id: str, scene_id: str, kind: str, **fields: Any) -> int | None: ...


class DynamoHistory:
    """The scene_history table: this module's record (looked up at each call)."""

    def record(self, *args, **kwargs):
        return record(*args, **kwargs)


get_history: Port[History] = Port(DynamoHistory)
