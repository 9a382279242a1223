"""The credit ledger: each clip's estimate at its submit and its charge once known, totals per
project and user, each system-key user's day (quota.py), and the price measured from charges.

A charge is known from Kie's callback (`creditsConsumed`) or from Kie's balance read just
before and after a submit that was in flight alone on its key: no other lane of the key's
rate limit (rate_limit.py) held or finished between the two reads, the only way another submit
of ours can reach Kie. Anything else (another lane moved, a read failed, the balance did not
drop) leaves the charge unknown rather than guessed; a failed read never holds up the submit.

On the system key a claim holds its clips' credits (one hold per claim, at the price it was
admitted with) until each submit moves one clip's share of it to the day, and a cancel or a
failure releases what it still holds: the quota counts every clip once, from its claim on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from aws_lambda_powertools import Logger

from . import plan, rate_limit
from ..clients import secrets
from ..clients.breaker import KieCalls
from ..clients.kie import KieError
from ..config import settings
from ..dal.usage import ClipEntry, Hold, get_usage
from ..models.api import PriceView, Spend
from ..models.domain import Scene, SceneSlot
from ..observability import MetricUnit, emit

logger = Logger(child=True)

MIN_SAMPLES = 3  # charges measured before their mean replaces the configured price
DRIFT_WARNING = 0.20  # a measured mean this far from the configured price is logged
DAY_KEPT_S = 3 * 86400  # a user's day item outlives its day by this (TTL)


def utc_day(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).date().isoformat()


def day_end(day: str) -> datetime:
    """The UTC midnight a day's credits reset at."""
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)


def day_expires(day: str) -> int:
    return int(day_end(day).timestamp()) + DAY_KEPT_S


def hold_expires(now: float, clips: int) -> int:
    """A hold outlives its claim's clips: a scene's sub-shots go to Kie one after another, each
    with its own longest wait for Kie and generation. A clip that never reached Kie (failed first,
    or its loop died) stops counting then."""
    return int(now + clips * (settings().queue_deadline_s + settings().generation_deadline_s))


def claim_of(project_id: str, scene: Scene) -> str:
    """A claim's hold item: one scene's generation."""
    return f"{project_id}#{scene.sceneId}#{scene.generation}"


def hold(owner: str, project_id: str, key: secrets.KieKey, claimed: list[tuple[Scene, int]], per_clip: float) -> None:
    """Each claim's clips (system key) count toward the quota from the claim, before they reach Kie:
    a second batch admitted while the first still waits for Kie is checked with them. One item per
    claimed scene (and its `clips`), at the price it was admitted with."""
    if key.owner == "system" and per_clip > 0:
        holds = [Hold(claim_of(project_id, scene), clips * per_clip, clips) for scene, clips in claimed if clips > 0]
        if holds:
            # One expiry for the batch, its longest claim's: a hold is released when its claim ends,
            # so this only bounds one whose loop died unreleased.
            get_usage().hold(owner, holds, hold_expires(time.time(), max(h.clips for h in holds)))


def release(slot: SceneSlot, sent: bool) -> None:
    """A claim whose clips will now never reach Kie (cancelled, failed): what its hold still has comes
    off, exactly once however many callers race; but one clip's share stays when the current clip may
    be at Kie without its task known (`sent` and no task: a timeout), as it may be paid for."""
    if slot.owner and slot.scene.keyOwner == "system":
        keep_one = sent and not slot.scene.taskId
        get_usage().release(slot.owner, claim_of(slot.project_id, slot.scene), keep_one)


def _mean(samples: int, total: float) -> float | None:
    """The measured price, once there are MIN_SAMPLES charges."""
    return round(total / samples, 2) if samples >= MIN_SAMPLES else None


def price_per_clip() -> PriceView:
    """The configured price, the mean of the charges measured (once there are MIN_SAMPLES), and
    the one estimates use: the measured mean when known."""
    configured = settings().kie_credits_per_clip
    samples, total = get_usage().price(settings().kie_model)
    measured = _mean(samples, total)
    return PriceView(configured=configured, measured=measured, samples=samples,
                     used=measured if measured is not None else configured)


@dataclass(frozen=True)
class BalanceWatch:
    others: list  # the key's other lanes as read before: (held at, done at)
    before: float


def price_in_use() -> float:
    """The price per clip in use, or the configured one when the ledger cannot be read: a figure
    never fails a submit or a cancel."""
    try:
        return price_per_clip().used
    except Exception:  # noqa: BLE001 - the ledger is best effort around the scene's writes
        logger.exception("price per clip not read; the configured one is used")
        return settings().kie_credits_per_clip


def _lanes_quietly(key: secrets.KieKey, lane: str) -> list | None:
    """The key's other lanes, or None when they cannot be read: the charge then stays unknown and
    the submit goes on, as it does when a balance read fails."""
    try:
        return rate_limit.other_lanes(key.value, lane)
    except Exception:  # noqa: BLE001 - a measure never holds up a submit
        logger.warning("lanes not read for the balance measure", exc_info=True)
        return None


def watch_balance(kie: KieCalls, key: secrets.KieKey, lane: str) -> BalanceWatch | None:
    """Kie's balance before a submit that holds `lane`, if no other submit of the key is in flight
    (None: the charge will not be measured by the balance)."""
    others = _lanes_quietly(key, lane)
    if others is None or any(held is not None for held, _ in others):
        return None
    try:
        return BalanceWatch(others, kie.credits())
    except KieError as exc:
        logger.info("balance not read before a submit", extra={"code": exc.code, "keyLast4": key.last4})
        return None


def measured_charge(kie: KieCalls, key: secrets.KieKey, lane: str, watch: BalanceWatch | None) -> float | None:
    """What the submit cost by the balance, when the key's other lanes did not move meanwhile
    (read after the balance: a submit reaching Kie before that read has its lane held or done)."""
    if watch is None:
        return None
    try:
        after = kie.credits()
    except KieError as exc:
        logger.info("balance not read after a submit", extra={"code": exc.code, "keyLast4": key.last4})
        return None
    spent = watch.before - after
    alone = _lanes_quietly(key, lane) == watch.others
    return spent if alone and spent > 0 else None  # Kie may charge later: no drop says nothing


def clip_submitted(slot: SceneSlot, task_id: str, key: secrets.KieKey, estimate: float,
                   charged: float | None, source: str | None) -> None:
    """Kie took a task: its entry, its project's and user's totals and, on the system key, the
    user's day (what quota.py counts: the charge when known, else the estimate; never refunded),
    moved off its claim's hold (a rewrite's second submit of the same sub-shot moves nothing)."""
    if not slot.owner:
        logger.warning("clip not recorded: no owner", extra={"projectId": slot.project_id, "taskId": task_id})
        return
    at = time.time()
    day = utc_day(at)
    entry = ClipEntry(
        owner=slot.owner, task_id=task_id, project_id=slot.project_id, scene_id=slot.scene.sceneId,
        estimate=estimate, key_owner=key.owner, at=at, day=day,
        charged=charged, charge_source=source if charged is not None else None,
    )
    day_credits = (charged if charged is not None else estimate) if key.owner == "system" else None
    if not get_usage().record_clip(entry, day_credits, day_expires(day), settings().kie_model):
        return
    if key.owner == "system":  # its share of the claim's hold, as held, now counted on the day (once per sub-shot)
        get_usage().take_held(slot.owner, claim_of(slot.project_id, slot.scene), plan.current(slot.scene) or 0)
    if charged is not None:
        _charged(charged)


def charge_reported(task_id: str, credits: float, source: str, issued_for: tuple[str, str] | None = None) -> None:
    """A charge learnt after the submit (Kie's callback): recorded once, however often it comes;
    the day moves from the estimate to the charge. `issued_for`: the (project, scene) the callback
    URL was signed for; a charge it reports for another scene's task is ignored."""
    usage = get_usage()
    entry = usage.clip(task_id)
    if entry is None or (issued_for and issued_for != (entry.project_id, entry.scene_id)):
        logger.info("charge for a task the ledger does not know here", extra={"taskId": task_id})
        return
    if entry.charged is not None:
        return
    day_delta = credits - entry.estimate if entry.key_owner == "system" else None
    if usage.record_charge(entry, credits, source, day_delta, settings().kie_model):
        _charged(credits)


def _charged(credits: float) -> None:
    """A charge recorded (one more price sample): when it moved the measured mean, its drift from the
    configured price is emitted, and logged past DRIFT_WARNING."""
    emit("CreditsCharged", MetricUnit.Count, credits)
    configured = settings().kie_credits_per_clip
    try:
        samples, total = get_usage().price(settings().kie_model)
    except Exception:  # noqa: BLE001 - the clip is at Kie already: a figure never fails its submit
        logger.warning("measured price not read", exc_info=True)
        return
    measured = _mean(samples, total)
    if measured is None or not configured or measured == _mean(samples - 1, total - credits):
        return
    drift = (measured - configured) / configured
    emit("PriceDriftPercent", MetricUnit.Percent, 100 * drift)
    if abs(drift) > DRIFT_WARNING:
        logger.warning("Kie's measured price drifts from the configured one",
                       extra={"configured": configured, "measured": measured, "samples": samples})


def project_spend(project_id: str) -> Spend:
    totals = get_usage().totals(f"project#{project_id}")
    return Spend(clips=totals.clips, estimatedCredits=totals.estimated,
                 chargedCredits=totals.charged, chargedClips=totals.charged_clips)


def clips_covered(credits: float | None, price: float) -> int | None:
    """Whole clips `credits` pay for at `price` (None: unknown, or free clips: no cap)."""
    if credits is None or price <= 0:
        return None
    return max(0, math.floor(credits / price + 1e-9))
