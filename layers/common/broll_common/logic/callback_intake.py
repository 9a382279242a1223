"""POST /api/callbacks/kie: one Kie callback, from its signed URL to the settled scene.

The URL must be one we issued for this project, scene and generation; the body must carry
Kie's webhook signature; an arrival tells the poll loops that callbacks come; and the task's
outcome is confirmed with record-info before it settles anything (generation.confirm_callback).
What Kie says it charged (`data.creditsConsumed`, when it says) goes in the ledger.
"""

from __future__ import annotations

from typing import Any

from . import callback_health, callbacks, generation, ledger


def receive(project_id: str, scene_id: str, generation_: int, signature: str, headers: dict, body: dict[str, Any]) -> bool:
    """Whether this callback settled its scene; raises ForeignCallback or BadSignature."""
    callbacks.verify_binding(project_id, scene_id, generation_, signature)
    data = body.get("data") or {}
    task_id = str(data.get("taskId", ""))
    callbacks.verify(headers, task_id)
    callback_health.callback_arrived()
    consumed = data.get("creditsConsumed")
    # A number only (not a bool): anything else says nothing about the charge.
    if task_id and isinstance(consumed, (int, float)) and not isinstance(consumed, bool) and consumed >= 0:
        ledger.charge_reported(task_id, float(consumed), "creditsConsumed", issued_for=(project_id, scene_id))
    return bool(task_id) and generation.confirm_callback(project_id, scene_id, generation_, task_id)
