"""What a batch will cost in Kie credits, and the cap that stops it.

Kie publishes no price list for `veo3_fast`, so the price per clip is a setting
(KIE_CREDITS_PER_CLIP); the remaining balance is Kie's own answer for the key that pays.
"""

from __future__ import annotations

import math

from aws_lambda_powertools import Logger

from . import plan
from ..clients import secrets
from ..dal import projects as storage
from ..clients.breaker import kie_client
from ..config import settings
from .generation import startable
from ..clients.kie import KieError
from ..models.api import Estimate, GenerateAllRequest

logger = Logger(child=True)


def clip_cap(request: GenerateAllRequest) -> int | None:
    """The most clips a batch may start: the lower of its two caps (None: no cap)."""
    caps = [request.maxClips] if request.maxClips is not None else []
    if request.maxCredits is not None:
        caps.append(math.floor(request.maxCredits / settings().kie_credits_per_clip))
    return min(caps) if caps else None


def remaining_credits(key: secrets.KieKey) -> tuple[float | None, str | None]:
    """Kie's balance for this key, or None and a sentence saying why it is unknown."""
    try:
        return kie_client(key.value).credits(), None
    except KieError as exc:
        logger.warning("could not read Kie credits", extra={"error": str(exc), "keyLast4": key.last4})
        return None, f"Kie.ai did not say how many credits are left: {exc.user_message}"


def estimate(project_id: str, owner: str) -> Estimate:
    record = storage.load_project(project_id, owner=owner)
    wanted, _ = startable(record.scenes)
    clips = sum(plan.clips_to_make(scene) for _, scene in wanted)  # a long scene takes several
    price = settings().kie_credits_per_clip
    try:
        remaining, note = remaining_credits(secrets.kie_key_for(owner))
    except secrets.NoKieKey as exc:
        remaining, note = None, exc.message
    return Estimate(
        clips=clips, creditsPerClip=price, estimatedCredits=clips * price,
        remainingCredits=remaining, note=note,
    )
