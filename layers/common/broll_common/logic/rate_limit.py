"""Kie's submit limit (20 new requests per 10 s per key), shared by every Lambda instance.

An exact sliding window kept in DynamoDB (the breaker table, one item per key) as 20
lanes: a lane carries at most one submit per 10 s. A submit holds a free lane before it is
sent and, when Kie has answered, the lane counts from the answer's time. Kie saw the
request before we had its answer, and the lane's next submit is sent only after it is held
again, so two submits of one lane reach Kie at least 10 s apart; any 21 submits share a
lane, so they span at least 10 s, whatever the network or our own latency.

Each lane is taken by a write conditional on that lane alone, so instances taking
different lanes never conflict (one shared version made every concurrent admission but
one read and write again). Written by hand because Powertools has no distributed rate
limiter; a token bucket would allow bursts that Kie's sliding window refuses. The item and
its conditional writes are dal.coordination's; the rule is here.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass

from ..config import settings
from ..dal.coordination import get_coordination

WINDOW_S = 10.0
MARGIN_S = 0.1  # clock granularity between our timers and Kie's
# A lane held and never finished (its Lambda died mid-submit) is let go after this: longer than any submit.
IN_FLIGHT_MAX_S = 60.0
# Every lane busy with a submit in flight frees up soon; look again after this.
IN_FLIGHT_RECHECK_S = 0.5
ANSWER_S = 1.0  # how long Kie usually takes to answer a submit (a held lane counts from the answer)


@dataclass
class Admission:
    admitted: bool
    retry_after: float = 0.0  # when refused: until the first lane is expected to free
    slot: str = ""  # "<lane>:<held at>", for finish
    free_in: tuple[float, ...] = ()  # when refused: until each lane is expected to free, soonest first


@dataclass(frozen=True)
class _Lane:
    held: float | None  # when a submit in flight took it
    done: float | None  # when Kie answered its last submit

    def free(self, now: float) -> bool:
        return (self.held is None or self.held <= now - IN_FLIGHT_MAX_S) and (
            self.done is None or self.done <= now - WINDOW_S - MARGIN_S
        )

    def in_flight(self, now: float) -> bool:
        return self.held is not None and self.held > now - IN_FLIGHT_MAX_S

    def free_in(self, now: float) -> float:
        """Seconds until the lane is expected to be free (a submit in flight: once answered)."""
        counts_from = self.held + ANSWER_S if self.in_flight(now) else self.done or now
        return max(IN_FLIGHT_RECHECK_S, counts_from + WINDOW_S + MARGIN_S - now)


def submits_per_window() -> int:
    """Kie's limit: submits per window and key (KIE_SUBMITS_PER_WINDOW, 20), one lane each."""
    return settings().kie_submits_per_window


def _window(api_key: str) -> str:
    # Never the key itself in storage: a short digest tells keys apart.
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def try_admit(api_key: str, now: float | None = None, limit: int | None = None) -> Admission:
    """Hold a free lane if there is one; the caller must `finish` it once Kie answers."""
    store, window = get_coordination(), _window(api_key)
    lanes_n = limit if limit is not None else submits_per_window()
    while True:
        current = now if now is not None else time.time()
        lanes = [_Lane(held, done) for held, done in store.read_lanes(window, lanes_n)]
        free = [n for n, lane in enumerate(lanes) if lane.free(current)]
        if not free:
            free_in = tuple(sorted(lane.free_in(current) for lane in lanes))
            return Admission(False, retry_after=free_in[0], free_in=free_in)
        lane = random.choice(free)  # instances picking at random rarely want the same lane
        # Taken only if still free as read: a lane another instance took meanwhile is looked at again.
        if store.take_lane(window, lane, current, current - IN_FLIGHT_MAX_S, current - WINDOW_S - MARGIN_S):
            return Admission(True, slot=f"{lane}:{current!r}")


def finish(api_key: str, slot: str, now: float | None = None) -> None:
    """Kie has answered the lane's submit (whatever it said): the lane counts from now. A lane
    let go as stale meanwhile (and perhaps held again) is left alone."""
    current = now if now is not None else time.time()
    lane, held = slot.split(":", 1)
    get_coordination().finish_lane(_window(api_key), int(lane), held, current)


def other_lanes(api_key: str, slot: str) -> list[tuple[float | None, float | None]]:
    """The key's lanes but the slot's own, as stored (held at, done at): any submit of another
    instance between two reads changes them (the ledger's balance measure relies on it)."""
    own = int(slot.split(":", 1)[0])
    lanes = get_coordination().read_lanes(_window(api_key), submits_per_window())
    return [lane for n, lane in enumerate(lanes) if n != own]


def wait_for_slot(api_key: str, max_wait_s: float = 20.0) -> Admission:
    """Block until a slot is taken (admitted), or give up after max_wait_s (not admitted)."""
    give_up = time.monotonic() + max_wait_s
    while True:
        admission = try_admit(api_key)
        if admission.admitted or time.monotonic() + admission.retry_after > give_up:
            return admission
        time.sleep(admission.retry_after + random.uniform(0, 0.05))
