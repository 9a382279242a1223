"""Kie.ai behind one shared circuit breaker (Powertools, state in DynamoDB).

Powertools' breaker keeps the open/half-open state in DynamoDB (a conditional write
elects the single half-open probe), so every Lambda instance fails fast together. Only
KieUnavailable (5xx-type answers and timeouts) counts as a failure: a 4xx caused by the
request says nothing about Kie's health.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Protocol

from aws_lambda_powertools.utilities.circuit_breaker import (
    CircuitBreakerConfig,
    CircuitBreakerOpenError,
    CircuitState,
    circuit_breaker,
)
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from ..config import settings
from ..dal.coordination import Coordination, DynamoCoordination, get_coordination
from .kie import KieClient, KieUnavailable, TaskRecord
from ..observability import MetricUnit, emit
from ..ports import Port
from . import secrets

CIRCUIT_NAME = "kie-api"


class KieCircuitOpen(KieUnavailable):
    """The circuit refused the call: Kie was not called. `opened_at`: since when Kie is
    down; `retry_at`: when the cool-down ends and one caller's probe may pass. A retry_at
    already past means that probe is under way (half-open) or its answer not yet seen."""

    def __init__(self, retry_at: float, opened_at: float | None = None):
        super().__init__(503, "circuit open")
        self.retry_at = retry_at
        self.opened_at = opened_at

    @property
    def user_message(self) -> str:
        # No clock time: the page and the CLI say times in the person's own zone.
        return "Kie.ai is unavailable right now; it is tried again by itself."


def breaker_config() -> CircuitBreakerConfig:
    s = settings()
    return CircuitBreakerConfig(
        failure_threshold=s.breaker_failure_threshold,
        recovery_timeout=s.breaker_recovery_timeout_s,
        success_threshold=1,
        handled_exceptions=(KieUnavailable,),
        local_cache_max_age=s.breaker_cache_s,
    )


class FleetFailures:
    """Failures counted across every Lambda instance, in the breaker table.

    Powertools counts failures per execution environment (only the open state is shared),
    so N busy instances could each see threshold-1 failures and Kie would take N times
    more before the circuit opens. This counter makes "opens after N failures" hold for
    the fleet: failures within one window add up, a success seen by an instance that
    had failed resets it, and the window bounds what isolated failures can accumulate.
    """

    def __init__(self, table: str | None, window_s: int):
        # The item is dal.coordination's: in the breaker table, or in the table named here.
        self._table, self._window_s = table, window_s

    @property
    def _store(self) -> Coordination:
        return DynamoCoordination(self._table) if self._table else get_coordination()

    def record(self, now: int) -> int:
        """Count one failure; the fleet's count in the current window."""
        cutoff = now - self._window_s
        while True:
            count = self._store.add_fleet_failure(CIRCUIT_NAME, window_after=cutoff)
            if count is not None:
                return count
            # No window yet, or an old one: start a new window with this failure...
            if self._store.open_fleet_window(CIRCUIT_NAME, now, window_after=cutoff):
                return 1
            # ...unless another instance started one first: add to it.

    def reset(self) -> None:
        self._store.reset_fleet_failures(CIRCUIT_NAME)


class GuardedKie:
    """The Kie calls the product makes, each passing through the shared breaker."""

    def __init__(
        self,
        client_: KieClient,
        persistence: CircuitBreakerDynamoDBPersistence,
        config: CircuitBreakerConfig,
        fleet: FleetFailures | None = None,
    ):
        self._config = config
        self._persistence = persistence
        self._fleet = fleet
        self._saw_failure = False
        guard = circuit_breaker(name=CIRCUIT_NAME, persistence_store=persistence, config=config)
        self._submit = guard(client_.submit)
        self._record_info = guard(client_.record_info)
        self._credits = guard(client_.credits)

    def _guarded(self, call, *args, **kwargs):
        try:
            result = call(*args, **kwargs)
        except CircuitBreakerOpenError as exc:
            opened = (exc.circuit.opened_at if exc.circuit and exc.circuit.opened_at else None) or 0
            raise KieCircuitOpen(opened + self._config.recovery_timeout, opened or None) from exc
        except KieUnavailable:
            self._count_failure()
            raise
        if self._saw_failure and self._fleet:
            self._fleet.reset()
        self._saw_failure = False
        return result

    def _count_failure(self) -> None:
        self._saw_failure = True
        if not self._fleet:
            return
        now = int(time.time())
        # Exactly one instance sees the count reach the threshold, and trips the circuit.
        if self._fleet.record(now) == self._config.failure_threshold:
            self._persistence.save_open(CIRCUIT_NAME, failure_count=self._config.failure_threshold, opened_at=now)
            emit("BreakerOpens", MetricUnit.Count, 1)
            self._fleet.reset()

    def submit(self, prompt: str, **kwargs) -> str:
        return self._guarded(self._submit, prompt, **kwargs)

    def record_info(self, task_id: str) -> TaskRecord:
        return self._guarded(self._record_info, task_id)

    def credits(self) -> float:
        return self._guarded(self._credits)


@lru_cache(maxsize=32)
def kie_client(api_key: str) -> GuardedKie:
    """A client for one Kie key, built on first use (never at import). All keys share one
    circuit: an outage at Kie is an outage for everybody; a refused key is not a failure."""
    s = settings()
    persistence = CircuitBreakerDynamoDBPersistence(table_name=s.breaker_table)
    config = breaker_config()
    fleet = FleetFailures(None, window_s=s.breaker_failure_window_s)
    return GuardedKie(KieClient(s.kie_base_url, api_key, timeout=s.kie_timeout_s), persistence, config, fleet)


class KieCalls(Protocol):
    """The Kie calls generation and the ledger make (GuardedKie's)."""

    def submit(self, prompt: str, **kwargs) -> str: ...

    def record_info(self, task_id: str) -> TaskRecord: ...

    def credits(self) -> float: ...


class Kie(Protocol):
    """Kie as generation sees it (the port): which key pays for a clip, and a client for it."""

    def key_for(self, user_id: str | None, owner: str | None = None) -> secrets.KieKey: ...

    def client(self, api_key: str) -> KieCalls: ...


class BreakerKie:
    """The key lookup (clients.secrets) and kie_client: Kie behind the shared breaker."""

    def key_for(self, user_id, owner=None):
        return secrets.kie_key_for(user_id, owner)

    def client(self, api_key):
        return kie_client(api_key)


get_kie: Port[Kie] = Port(BreakerKie)


def open_seconds(now: float | None = None) -> float:
    """How long the shared circuit has been open (0 while closed), for the sweep's
    BreakerOpenSeconds. Counted from its first opening: a failed probe re-opens it with a new
    opened_at, so Powertools' own field never exceeds the recovery timeout in a long outage.
    An open circuit nobody probed for two recovery timeouts is idle, not down: nothing is
    waiting on Kie, so it reads 0 until the next call finds out."""
    now = time.time() if now is None else now
    s, store = settings(), get_coordination()
    record = CircuitBreakerDynamoDBPersistence(table_name=s.breaker_table).get_state(CIRCUIT_NAME)
    opened = record.opened_at
    if record.state == CircuitState.CLOSED or opened is None or now - opened > 2 * s.breaker_recovery_timeout_s:
        store.clear_circuit_down(CIRCUIT_NAME)
        return 0.0
    return max(0.0, now - store.circuit_down_since(CIRCUIT_NAME, opened, now))
