"""What a batch will cost in Kie credits, what the credits left cover, and the caps that stop it.

The price per clip is ledger.price_per_clip(): the configured KIE_CREDITS_PER_CLIP until Kie's
charges are measured. What is left: with the user's own key, Kie's balance for it; with the
system key, the user's daily quota left, also capped by the system account's balance, which its
users are never shown. A batch starts whole scenes in timeline order, as many as that covers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from . import ledger, plan, quota
from ..clients import secrets
from ..clients.breaker import get_kie
from ..clients.kie import KieError
from ..dal.projects import get_projects
from ..models.api import Estimate, GenerateAllRequest, PriceView, QuotaView
from ..models.domain import Scene, SceneStatus
from ..models.errors import TooManyRequests

logger = Logger(child=True)


def startable(scenes: list[Scene]) -> tuple[list[tuple[int, Scene]], list[dict]]:
    """The scenes Generate All would start (no clip, not generating), and those it skips."""
    wanted, skipped = [], []
    for index, scene in enumerate(scenes):
        if scene.status in (SceneStatus.COMPLETED, SceneStatus.GENERATING):
            skipped.append({"sceneId": scene.sceneId, "reason": scene.status.value})
        else:
            wanted.append((index, scene))
    return wanted, skipped


def within_cap(candidates: list[tuple[int, Scene]], max_clips: int) -> tuple[list, list]:
    """The scenes, in timeline order, whose clips (several for a long scene) fit in the cap."""
    within, over, clips = [], [], 0
    for index, scene in candidates:
        needed = plan.clips_to_make(scene)
        if clips + needed <= max_clips and not over:
            within.append((index, scene))
            clips += needed
        else:
            over.append((index, scene))
    return within, over


def clip_cap(request: GenerateAllRequest) -> int | None:
    """The most clips a batch may start: the lower of its two caps (None: no cap)."""
    caps = [request.maxClips] if request.maxClips is not None else []
    if request.maxCredits is not None:
        caps.append(math.floor(request.maxCredits / ledger.price_per_clip().used))
    return min(caps) if caps else None


def remaining_credits(key: secrets.KieKey) -> tuple[float | None, str | None]:
    """Kie's balance for this key, or None and a sentence saying why it is unknown."""
    try:
        return get_kie().client(key.value).credits(), None
    except KieError as exc:
        logger.warning("could not read Kie credits", extra={"error": str(exc), "keyLast4": key.last4})
        return None, f"Kie.ai did not say how many credits are left: {exc.user_message}"


@dataclass(frozen=True)
class Credits:
    """What one user's credits left allow now."""

    price: PriceView
    shown: float | None  # remainingCredits: own key, Kie's balance; system key, the quota left
    clips: int | None  # clips they cover (None: unknown, nothing caps)
    capped_by: str  # "quota" or "balance": whichever covers fewer
    balance_known: bool
    note: str | None = None  # why the balance is unknown
    quota: QuotaView | None = None

    @property
    def source(self) -> str:
        return "kie_balance" if self.quota is None else "daily_quota"


def credits_left(owner: str, key: secrets.KieKey) -> Credits:
    price = ledger.price_per_clip()
    balance, note = remaining_credits(key)
    by_balance = ledger.clips_covered(balance, price.used)
    view = quota.left(owner, key)
    if view is None:
        return Credits(price, balance, by_balance, "balance", balance is not None, note)
    by_quota = ledger.clips_covered(view.left, price.used)
    if by_balance is not None and (by_quota is None or by_balance < by_quota):
        return Credits(price, view.left, by_balance, "balance", True, note, view)
    return Credits(price, view.left, by_quota, "quota", balance is not None, note, view)


def what_is_left(credits: Credits) -> str:
    """What is left, in words, never the system account's balance."""
    if credits.capped_by == "quota" and credits.quota is not None:
        return f"your daily quota has {credits.quota.left:,.0f} left (it resets {quota.resets_in(credits.quota)})"
    if credits.quota is None:
        return f"Kie.ai has {math.floor(credits.shown or 0):,} left"
    return "the service's Kie.ai credits do not cover it yet"


def refusal(credits: Credits, clips: int) -> TooManyRequests:
    """Why not even the first scene (`clips` clips) can start: a 429 with a sentence."""
    needed = clips * credits.price.used
    if credits.capped_by == "quota" and credits.quota is not None:
        return quota.refusal(credits.quota, needed)
    if credits.quota is None:
        return TooManyRequests(
            f"Your Kie.ai account has {math.floor(credits.shown or 0):,} credits left; this needs "
            f"{needed:,.0f}. Top up at Kie.ai, or start fewer clips."
        )
    return TooManyRequests("The service's Kie.ai credits do not cover this now. Try again later, or ask an admin.")


def capped_note(credits: Credits, clips: int, scenes: int, startable_clips: int, startable_scenes: int) -> str:
    covers = (f"cover {startable_clips} of the {clips} clips ({startable_scenes} of {scenes} scenes); "
              "Generate All starts those, in timeline order.")
    if credits.capped_by == "quota" and credits.quota is not None:
        return (f"Your {credits.quota.left:,.0f} credits left today {covers} "
                f"The quota resets {quota.resets_in(credits.quota)}.")
    if credits.quota is None:
        return f"Your Kie.ai credits left {covers}"
    return f"The service's Kie.ai credits {covers}"


def estimate(project_id: str, owner: str) -> Estimate:
    record = get_projects().load_project(project_id, owner=owner)
    wanted, _ = startable(record.scenes)
    scene_clips = [plan.clips_to_make(scene) for _, scene in wanted]  # a scene with 2 sub-shots is 2 clips
    clips = sum(scene_clips)
    try:
        key = get_kie().key_for(owner)
    except secrets.NoKieKey as exc:
        price = ledger.price_per_clip()
        return Estimate(scenes=len(wanted), clips=clips, creditsPerClip=price.used, price=price,
                        estimatedCredits=clips * price.used, sceneClips=scene_clips, note=exc.message)
    credits = credits_left(owner, key)
    within = wanted if credits.clips is None else within_cap(wanted, credits.clips)[0]
    startable_clips = sum(plan.clips_to_make(scene) for _, scene in within)
    note = credits.note  # the balance unknown (Kie unreachable): said, whichever key
    if not within and wanted:  # Generate All would answer 429: say so now, in its words
        note = refusal(credits, plan.clips_to_make(wanted[0][1])).message
    elif len(within) < len(wanted):
        note = capped_note(credits, clips, len(wanted), startable_clips, len(within))
    return Estimate(
        scenes=len(wanted), clips=clips, creditsPerClip=credits.price.used, price=credits.price,
        estimatedCredits=clips * credits.price.used, remainingCredits=credits.shown,
        remainingSource=credits.source, startableClips=startable_clips, startableScenes=len(within),
        sceneClips=scene_clips, note=note,
    )
