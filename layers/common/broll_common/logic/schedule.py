"""Generate All queued for later: at a given time, or as soon as Kie's credits cover the
batch. The scheduled sweep (functions/sweep, every 5 minutes) runs what is due.

Before a batch starts, Kie's balance is read through the breaker: an open breaker or an
unreachable Kie postpones the batch to the next sweep (with a sentence saying so) rather
than queueing clips that would only wait; the batch itself submits within the shared
rate limit like any Generate All, and starts at most what the credits left cover (the
balance, or a system-key user's daily quota): one that covers not even its first scene waits.
A "when credits allow" batch larger than a system-key user's whole daily quota is capped to
the whole scenes that quota covers, and its note says so.
"""

from __future__ import annotations

import contextlib
import math
from datetime import datetime, timezone

from aws_lambda_powertools import Logger

from . import budget, ledger, plan
from ..clients import secrets
from ..clients.breaker import get_kie
from ..dal import projects as storage
from .generation import generate_all
from ..models.api import ScheduleRequest, ScheduleView
from ..models.domain import Scene
from ..models.errors import TooManyRequests

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


def _within_whole_day(credits: budget.Credits, wanted: list[tuple[int, Scene]]) -> tuple[list, str]:
    """The scenes (timeline order) a system-key user's whole daily quota could ever cover, and what
    to say when that is fewer than the batch: waiting for more would wait forever."""
    if credits.quota is None:
        return wanted, ""  # own key: a top-up at Kie covers any batch
    day_clips = ledger.clips_covered(credits.quota.dailyCredits, credits.price.used)
    within = wanted if day_clips is None else budget.within_cap(wanted, day_clips)[0]
    if len(within) == len(wanted):
        return wanted, ""
    clips = sum(plan.clips_to_make(scene) for _, scene in wanted)
    covered = sum(plan.clips_to_make(scene) for _, scene in within)
    return within, (f" Your whole daily quota ({credits.quota.dailyCredits:,.0f} credits) covers {covered} of "
                    f"its {clips} clips, so it will start those ({len(within)} of {len(wanted)} scenes, "
                    "in timeline order).")


def _hold_reason(owner: str | None, wanted: list[tuple[int, Scene]], schedule: dict) -> str | None:
    """Why the batch must wait (None: it may start now, perhaps fewer scenes than it wants)."""
    try:
        key = get_kie().key_for(owner)
    except secrets.NoKieKey as exc:
        return exc.message
    credits = budget.credits_left(owner or "", key)
    if not credits.balance_known:
        return credits.note
    if schedule.get("maxClips"):
        wanted = budget.within_cap(wanted, schedule["maxClips"])[0]
    capped = ""
    if schedule.get("whenCreditsAllow") and wanted:
        first = plan.clips_to_make(wanted[0][1])
        wanted, capped = _within_whole_day(credits, wanted)
        if not wanted:
            return (f"This batch can never start: its first scene needs {math.ceil(first * credits.price.used):,} "
                    f"credits, more than your whole daily quota ({credits.quota.dailyCredits:,.0f}). "
                    "Ask an admin to raise your quota.")
    needed = sum(plan.clips_to_make(scene) for _, scene in wanted)
    if credits.clips is None or credits.clips >= needed:
        return None
    if schedule.get("whenCreditsAllow"):
        cost = math.ceil(needed * credits.price.used)
        return f"Waiting for credits: this batch needs {cost:,}, {budget.what_is_left(credits)}.{capped}"
    if wanted and credits.clips < plan.clips_to_make(wanted[0][1]):
        return budget.refusal(credits, plan.clips_to_make(wanted[0][1])).message
    return None


def run_due(projects: list[storage.ScheduledProject], now: datetime | None = None) -> dict:
    """Start the Generate All batches that are due, of `projects` (those with a schedule, as the
    sweep read them: logic/sweep.py)."""
    now = now or datetime.now(timezone.utc)
    counts = {"due": 0, "started": 0, "waiting": 0}
    for project_id, owner, schedule, scenes in projects:
        if not _due(schedule, now):
            continue
        counts["due"] += 1
        wanted, _ = budget.startable(scenes)
        reason = _hold_reason(owner, wanted, schedule) if wanted else None
        # What the person set, as read: a change since (the read may be a sweep's length old) keeps it.
        held = {key: schedule[key] for key in ("at", "whenCreditsAllow", "maxClips") if schedule.get(key) is not None}
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
            try:
                result = generate_all(project_id, owner, max_clips=schedule.get("maxClips"))
            except TooManyRequests as exc:  # the credits went meanwhile: back, to wait for them
                counts["waiting"] += 1
                back = schedule | {"note": exc.message}
                with contextlib.suppress(storage.StaleScene):  # unless the person set one since it was taken off
                    storage.replace_part(project_id, "schedule", back, owner=None, expect={})
                continue
            counts["started"] += len(result.started)
            logger.info("scheduled batch started", extra={"projectId": project_id, "started": len(result.started)})
    return counts
