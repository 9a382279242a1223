"""Claude's prompts kept in the usage table: `prompt#{sha256}` / `prompt` → text (the prompt as
Claude's answer was finished, style sentence included), source, removed, note; expiring after 30 days
(`expiresAt`, the table's TTL). The key is what the prompt was written from
(prompts.cache_key); what is kept and when is logic/style.py's.

A cache is a saving, never a reason for a prompt to fail: a failed read is a miss and a
failed write is logged.
"""

from __future__ import annotations

import time
from typing import Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from ..aws import client
from ..config import settings
from ..ports import Port
from ..prompts.model import ComposedPrompt

logger = Logger(child=True)

TTL_S = 30 * 24 * 3600


class PromptCache(Protocol):
    def get(self, key: str) -> ComposedPrompt | None: ...

    def put(self, key: str, prompt: ComposedPrompt) -> None: ...


def _key(key: str) -> dict:
    return {"pk": {"S": f"prompt#{key}"}, "sk": {"S": "prompt"}}


class DynamoPromptCache:
    """The usage table (settings().usage_table, looked up at each call)."""

    def get(self, key: str) -> ComposedPrompt | None:
        try:
            item = client("dynamodb").get_item(TableName=settings().usage_table, Key=_key(key)).get("Item")
        except ClientError as exc:
            logger.warning("prompt cache read failed", extra={"error": str(exc)})
            return None
        # DynamoDB deletes expired items when it gets to them (up to days later): past its time is a miss.
        if not item or float(item["expiresAt"]["N"]) <= time.time():
            return None
        return ComposedPrompt(
            text=item["text"]["S"], source=item["source"]["S"],
            removed=[value["S"] for value in item.get("removed", {}).get("L", [])],
            note=item["note"]["S"] if "note" in item else None,
        )

    def put(self, key: str, prompt: ComposedPrompt) -> None:
        item = _key(key) | {
            "text": {"S": prompt.text}, "source": {"S": prompt.source},
            "removed": {"L": [{"S": value} for value in prompt.removed]},
            "expiresAt": {"N": str(int(time.time()) + TTL_S)},
        } | ({"note": {"S": prompt.note}} if prompt.note else {})
        try:
            client("dynamodb").put_item(TableName=settings().usage_table, Item=item)
        except ClientError as exc:
            logger.warning("prompt cache write failed", extra={"error": str(exc)})


get_prompt_cache: Port[PromptCache] = Port(DynamoPromptCache)

__all__ = ["DynamoPromptCache", "PromptCache", "TTL_S", "get_prompt_cache"]
