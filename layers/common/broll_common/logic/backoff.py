"""Waiting policies, defined once: exponential backoff for retries, and the poll schedule.

Backoff (exponential, capped, jittered) paces retries of busy answers (Kie's 429, a 5xx,
a full rate-limit window). PollSchedule paces the poll loop (the state machine reads
`waitSeconds` from the poll step).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    first: float
    factor: float
    cap: float
    # Fraction of each wait that is randomised ("equal jitter"): spreads pollers that
    # started together without ever waiting less than half the planned delay.
    jitter: float = 0.5

    def nominal(self, attempt: int) -> float:
        """Wait before attempt `attempt` (0-based), without jitter."""
        return min(self.cap, self.first * (self.factor**attempt))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        base = self.nominal(attempt)
        spread = base * self.jitter
        return base - spread + (rng or random).uniform(0, spread)

    def schedule(self, attempts: int) -> list[float]:
        return [self.nominal(i) for i in range(attempts)]


@dataclass(frozen=True)
class PollSchedule:
    """When to ask Kie again about a running clip.

    No Veo clip finishes before about a minute, so the first look waits `first`. After
    that, when Kie's callbacks are known to arrive, the loop is only the safety net and
    next looks after `callback_grace` (from the start); otherwise each wait is a fixed share
    of the time already spent, so the delay between the clip finishing and us noticing is
    a bounded share of its generation time (at most factor - 1, on average half) with few
    calls: with 65 s and 1.15, looks at 65, 75, 86, 99, 114, 131, 150, 173, 199 s.
    """

    first: float
    callback_grace: float
    factor: float
    floor: float
    cap: float
    jitter: float = 0.05  # a few seconds: spreads loops started together, costs few extra looks

    def awaiting_callback(self, elapsed: float, callbacks: bool) -> bool:
        """The clip's callback is trusted to settle it: the loop looks only at the grace."""
        return callbacks and elapsed < self.callback_grace

    def wait(self, attempt: int, elapsed: float, callbacks: bool, rng: random.Random | None = None) -> float:
        if attempt == 0:
            base = self.first
        elif self.awaiting_callback(elapsed, callbacks):
            base = self.callback_grace - elapsed
        else:
            base = min(self.cap, max(self.floor, (self.factor - 1) * elapsed))
        # Jitter only shortens a wait: it spreads loops started together without ever
        # stretching the gap past the bound on the delay (factor - 1 of the time spent).
        return base * (1 - (rng or random).uniform(0, self.jitter))
