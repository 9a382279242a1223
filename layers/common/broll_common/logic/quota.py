"""Each system-key user's daily credit quota (DAILY_CREDIT_QUOTA, or the user's own override
item an admin writes: docs/OPERATIONS.md). Users with their own Kie key pay Kie themselves and
have none.

What counts is the user's UTC day in the ledger (ledger.py): every clip's estimate at its
submit, corrected to its charge when known, never refunded (a cancelled or failed task was still
paid for), every Claude prompt (a cache miss) at CLAUDE_CREDITS_PER_PROMPT, and the clips claimed
but not yet at Kie (their claims' holds). The check runs before the claim: two requests at the
same instant may both pass and overshoot by their clips.
"""

from __future__ import annotations

import time
from datetime import datetime

from . import ledger
from ..clients import secrets
from ..config import settings
from ..dal.usage import get_usage
from ..dal.user_keys import user_key_info
from ..models.api import QuotaView
from ..models.errors import TooManyRequests


class QuotaExceeded(TooManyRequests):
    """The day's quota does not cover what was asked."""


def daily_credits(owner: str) -> float:
    override = get_usage().quota_override(owner)
    return override if override is not None else settings().daily_credit_quota


def left(owner: str, key: secrets.KieKey | None = None) -> QuotaView | None:
    """Today's quota and what is left of it; None for a user with their own key (`key`: the one
    their clips use, when the caller has it; else whether they stored one)."""
    own_key = key.owner == "user" if key else user_key_info(owner) is not None
    if own_key:
        return None
    now = time.time()
    day = ledger.utc_day(now)
    quota = daily_credits(owner)
    used = get_usage().day(owner, day).credits + get_usage().held(owner, now)
    return QuotaView(dailyCredits=quota, usedToday=round(used, 2), left=max(0.0, round(quota - used, 2)),
                     resetsAt=ledger.day_end(day).isoformat(timespec="seconds").replace("+00:00", "Z"))


def resets_in(view: QuotaView, now: float | None = None) -> str:
    """When the quota resets, relative ("in 5 hours", "in 40 minutes"), never a clock time: the
    sentences it goes in reach the page as they are, and only the page knows the person's zone."""
    reset = datetime.fromisoformat(view.resetsAt.replace("Z", "+00:00")).timestamp()
    hours = max(0.0, reset - (now or time.time())) / 3600
    return f"in {hours:.0f} hours" if hours >= 1.5 else f"in {max(1, round(hours * 60))} minutes"


def refusal(view: QuotaView, needed: float, now: float | None = None) -> QuotaExceeded:
    return QuotaExceeded(
        f"You have used {view.usedToday:,.0f} of your {view.dailyCredits:,.0f} credits for today; "
        f"this needs {needed:,.0f} more. It resets {resets_in(view, now)}, or ask an admin to raise your quota."
    )


def admit(owner: str, key: secrets.KieKey, clips: int) -> float:
    """Today's price per clip, at which the claim holds its `clips` (0: own key, no quota);
    raises QuotaExceeded when today's quota left does not cover them."""
    view = left(owner, key)
    if view is None:
        return 0.0
    per_clip = ledger.price_per_clip().used
    if clips * per_clip > view.left:
        raise refusal(view, clips * per_clip)
    return per_clip


def admit_prompts(owner: str, count: int) -> None:
    """A person asking for `count` prompts (POST …/prompt): refused (QuotaExceeded) when Claude writes
    them and today's quota left does not cover them. Prompts a claim leaves for its poll loop are not
    checked here: the claim was admitted with its clips, and a refused prompt would fail the scene."""
    if not secrets.anthropic_key():
        return  # the local composer is free
    view = left(owner)
    needed = count * settings().claude_credits_per_prompt
    if view is not None and needed > view.left:
        raise refusal(view, needed)


def record_prompt(owner: str | None) -> None:
    """One Claude call (a cache miss) on the user's day."""
    if not owner:
        return
    day = ledger.utc_day(time.time())
    get_usage().add_prompt(owner, day, settings().claude_credits_per_prompt, ledger.day_expires(day))
