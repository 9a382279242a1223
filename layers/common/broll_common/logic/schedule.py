"""Generate All queued for later: at a given time, or as soon as Kie's credits cover the
batch. The scheduled sweep (functions/sweep, every 5 minutes) runs what is due.

Before a batch starts, Kie's balance is read through the breaker: an open breaker or an
unreachable Kie postpones the batch to the next sweep (with a sentence saying so) rather
than queueing clips that would only wait; the batch itself submits within the shared
rate limit like any Generate All.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from aws_lambda_powertools import Logger

from . import budget
from ..clients import secrets
from ..dal import projects as storage
from ..config import settings
from .generation import generate_all, startable
from ..models.api import ScheduleRequest, ScheduleView

logger = Logger(child=True)


def set_schedule(project_id: str, request: ScheduleRequest, owner: str) -> ScheduleView:
    storage.load_broll(project_id, owner=owner)  # 404 for a project that is not the caller's
    view = ScheduleView(
        at=request.at.astimezone(timezone.utc).isoformat(timespec="seconds") if request.at else None,
        whenCreditsAllow=request.whenCreditsAllow,
        maxClips=request.maxClips,
    )
    storage.replace_part(project_id, "schedule", view.model_dump(exclude_none=True), owner=owner, expect=None)
    return view


def clear_schedule(project_id: str, owner: str) -> None:
    storage.load_broll(project_id, owner=owner)
    storage.replace_part(project_id, "schedule", None, owner=owner, expect=None)


def _due(schedule: dict, now: datetime) -> bool:
    return not schedule.get("at") or datetime.fromisoformat(schedule["at"]) <= now


def _hold_reason(owner: str | None, wanted: int, schedule: dict) -> str | None:
    """Why the batch must wait (None: it may start now)."""
    try:
        remaining, note = budget.remaining_credits(secrets.kie_key_for(owner))
    except secrets.NoKieKey as exc:
        return exc.message
    if remaining is None:
        return note
    if schedule.get("whenCreditsAllow"):
        clips = min(wanted, schedule["maxClips"]) if schedule.get("maxClips") else wanted
        needed = clips * settings().kie_credits_per_clip
        if remaining < needed:
            return f"Waiting for credits: this batch needs {math.ceil(needed)}, Kie.ai has {math.floor(remaining)} left."
    return None


def run_due(now: datetime | None = None) -> dict:
    now = now or datetime.now(timezone.utc)
    counts = {"due": 0, "started": 0, "waiting": 0}
    for project_id, owner, schedule, scenes in storage.scheduled_projects():
        if not _due(schedule, now):
            continue
        counts["due"] += 1
        wanted, _ = startable(scenes)
        reason = _hold_reason(owner, len(wanted), schedule) if wanted else None
        held = {key: schedule[key] for key in ("at", "whenCreditsAllow") if schedule.get(key) is not None}
        try:
            if reason:
                counts["waiting"] += 1
                storage.replace_part(project_id, "schedule", schedule | {"note": reason}, owner=None, expect=held)
                continue
            # Taken off first (conditional on being unchanged): two sweeps never both start it.
            storage.replace_part(project_id, "schedule", None, owner=None, expect=held)
        except storage.StaleScene:
            continue  # the person changed or cleared it meanwhile
        if wanted and owner:
            result = generate_all(project_id, owner, max_clips=schedule.get("maxClips"))
            counts["started"] += len(result.started)
            logger.info("scheduled batch started", extra={"projectId": project_id, "started": len(result.started)})
    return counts
