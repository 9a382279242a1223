"""Kie.ai behind one shared circuit breaker (Powertools, state in DynamoDB).

Powertools' breaker keeps the open/half-open state in DynamoDB (a conditional write
elects the single half-open probe), so every Lambda instance fails fast together. Only
KieUnavailable (5xx-type answers and timeouts) counts as a failure: a 4xx caused by the
request says nothing about Kie's health.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from functools import lru_cache

from aws_lambda_powertools.utilities.circuit_breaker import (
    CircuitBreakerConfig,
    CircuitBreakerOpenError,
    circuit_breaker,
)
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from .config import settings
from .kie import KieClient, KieUnavailable, TaskRecord

CIRCUIT_NAME = "kie-api"


class KieCircuitOpen(KieUnavailable):
    def __init__(self, retry_at: float):
        super().__init__(503, "circuit open")
        self.retry_at = retry_at

    @property
    def user_message(self) -> str:
        when = datetime.fromtimestamp(self.retry_at, tz=timezone.utc).strftime("%H:%M")
        return f"Kie.ai is unavailable, retrying at {when} UTC."


def breaker_config() -> CircuitBreakerConfig:
    return CircuitBreakerConfig(
        failure_threshold=int(os.environ.get("BREAKER_FAILURE_THRESHOLD", 5)),
        recovery_timeout=int(os.environ.get("BREAKER_RECOVERY_TIMEOUT_S", 60)),
        success_threshold=1,
        handled_exceptions=(KieUnavailable,),
        local_cache_max_age=int(os.environ.get("BREAKER_CACHE_S", 2)),
    )


class GuardedKie:
    """The Kie calls the product makes, each passing through the shared breaker."""

    def __init__(self, client: KieClient, persistence: CircuitBreakerDynamoDBPersistence, config: CircuitBreakerConfig):
        self._config = config
        guard = circuit_breaker(name=CIRCUIT_NAME, persistence_store=persistence, config=config)
        self._submit = guard(client.submit)
        self._record_info = guard(client.record_info)
        self._credits = guard(client.credits)

    def _guarded(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except CircuitBreakerOpenError as exc:
            opened = (exc.circuit.opened_at if exc.circuit and exc.circuit.opened_at else None) or 0
            raise KieCircuitOpen(opened + self._config.recovery_timeout) from exc

    def submit(self, prompt: str, **kwargs) -> str:
        return self._guarded(self._submit, prompt, **kwargs)

    def record_info(self, task_id: str) -> TaskRecord:
        return self._guarded(self._record_info, task_id)

    def credits(self) -> float:
        return self._guarded(self._credits)


@lru_cache(maxsize=1)
def system_kie() -> GuardedKie:
    """The system key's client, built on first use (never at import)."""
    s = settings()
    client = KieClient(s.kie_base_url, s.kie_api_key, timeout=s.kie_timeout_s)
    persistence = CircuitBreakerDynamoDBPersistence(table_name=s.breaker_table)
    return GuardedKie(client, persistence, breaker_config())
