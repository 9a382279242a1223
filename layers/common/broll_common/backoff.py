"""The one backoff policy: exponential growth, capped, with jitter.

Used for the poll loop's waits (the state machine reads `waitSeconds` from the poll step)
and for retrying Kie's rate-limit answers inside one submit.
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
