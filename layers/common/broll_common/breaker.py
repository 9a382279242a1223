"""Kie.ai behind one shared circuit breaker (Powertools, state in DynamoDB).

Powertools' breaker keeps the open/half-open state in DynamoDB (a conditional write
elects the single half-open probe), so every Lambda instance fails fast together. Only
KieUnavailable (5xx-type answers and timeouts) counts as a failure: a 4xx caused by the
request says nothing about Kie's health.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from functools import lru_cache

from aws_lambda_powertools.utilities.circuit_breaker import (
    CircuitBreakerConfig,
    CircuitBreakerOpenError,
    circuit_breaker,
)
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from .aws import client
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


class FleetFailures:
    """Failures counted across every Lambda instance, in the breaker table.

    Powertools counts failures per execution environment (only the open state is shared),
    so N busy instances could each see threshold-1 failures and Kie would take N times
    more before the circuit opens. This counter makes "opens after N failures" hold for
    the fleet: failures within one window add up, a success seen by an instance that
    had failed resets it, and the window bounds what isolated failures can accumulate.
    """

    ITEM_ID = f"{CIRCUIT_NAME}#fleet-failures"

    def __init__(self, table: str, window_s: int):
        self._table, self._window_s = table, window_s

    def record(self, now: int) -> int:
        ddb, key = client("dynamodb"), {"id": {"S": self.ITEM_ID}}
        while True:
            try:
                answer = ddb.update_item(
                    TableName=self._table, Key=key,
                    UpdateExpression="ADD failures :one",
                    ConditionExpression="window_start > :cutoff",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":cutoff": {"N": str(now - self._window_s)}},
                    ReturnValues="UPDATED_NEW",
                )
                return int(answer["Attributes"]["failures"]["N"])
            except ddb.exceptions.ConditionalCheckFailedException:
                pass  # no window yet, or an old one: start a new window with this failure
            try:
                ddb.update_item(
                    TableName=self._table, Key=key,
                    UpdateExpression="SET failures = :one, window_start = :now, expiration = :ttl",
                    ConditionExpression="attribute_not_exists(window_start) OR window_start <= :cutoff",
                    ExpressionAttributeValues={
                        ":one": {"N": "1"}, ":now": {"N": str(now)}, ":ttl": {"N": str(now + 3600)},
                        ":cutoff": {"N": str(now - self._window_s)},
                    },
                )
                return 1
            except ddb.exceptions.ConditionalCheckFailedException:
                continue  # another instance started the window first: add to it

    def reset(self) -> None:
        try:
            client("dynamodb").update_item(
                TableName=self._table, Key={"id": {"S": self.ITEM_ID}},
                UpdateExpression="SET failures = :zero", ConditionExpression="failures > :zero",
                ExpressionAttributeValues={":zero": {"N": "0"}},
            )
        except client("dynamodb").exceptions.ConditionalCheckFailedException:
            pass


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
            raise KieCircuitOpen(opened + self._config.recovery_timeout) from exc
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
    fleet = FleetFailures(s.breaker_table, window_s=int(os.environ.get("BREAKER_FAILURE_WINDOW_S", 60)))
    return GuardedKie(KieClient(s.kie_base_url, api_key, timeout=s.kie_timeout_s), persistence, config, fleet)
