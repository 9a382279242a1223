"""GuardedKie: the shared circuit breaker (Powertools, state in DynamoDB on moto)."""

import re

import boto3
import pytest
from aws_lambda_powertools.utilities.circuit_breaker import base as cb_base
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence
from moto import mock_aws

from broll_common.clients.breaker import CIRCUIT_NAME, GuardedKie, KieCircuitOpen, breaker_config
from broll_common.clients.kie import KieRejected, KieUnavailable, TaskRecord, TaskState

TABLE = "breaker_state_test"
THRESHOLD = 3
RECOVERY = 30
START = 1_767_225_600  # 2026-01-01T00:00:00Z


class FakeKie:
    """Stands in for KieClient: each call pops the next scripted outcome (value, exception, or
    a callable run during the call)."""

    def __init__(self):
        self.script: list = []
        self.calls: list[tuple] = []

    def _next(self, name, *args):
        self.calls.append((name, *args))
        outcome = self.script.pop(0) if self.script else "ok"
        if callable(outcome):
            outcome = outcome()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def submit(self, prompt, **kwargs):
        return self._next("submit", prompt)

    def record_info(self, task_id):
        outcome = self._next("record_info", task_id)
        return TaskRecord(task_id, TaskState.GENERATING) if outcome == "ok" else outcome

    def credits(self):
        outcome = self._next("credits")
        return 1.0 if outcome == "ok" else outcome


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return int(self.now)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(START)
    # Powertools' handler decides open/half-open with CircuitBreakerHandler._now().
    monkeypatch.setattr(cb_base.CircuitBreakerHandler, "_now", staticmethod(clock))
    return clock


@pytest.fixture(autouse=True)
def breaker_env(monkeypatch):
    monkeypatch.setenv("BREAKER_FAILURE_THRESHOLD", str(THRESHOLD))
    monkeypatch.setenv("BREAKER_RECOVERY_TIMEOUT_S", str(RECOVERY))
    monkeypatch.setenv("BREAKER_CACHE_S", "0")
    monkeypatch.delenv("POWERTOOLS_CIRCUIT_BREAKER_DISABLED", raising=False)
    # Powertools keeps per-process counters at module level: start every test clean.
    for counters in (cb_base._LOCAL_FAILURES, cb_base._LOCAL_SUCCESSES, cb_base._LAST_OBSERVED_STATE):
        counters.clear()
    yield
    for counters in (cb_base._LOCAL_FAILURES, cb_base._LOCAL_SUCCESSES, cb_base._LAST_OBSERVED_STATE):
        counters.clear()


@pytest.fixture
def table():
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ddb


def guarded(fake):
    return GuardedKie(fake, CircuitBreakerDynamoDBPersistence(table_name=TABLE), breaker_config())


def stored_state(ddb):
    """The circuit's own item (the table also holds the fleet failure counter)."""
    item = ddb.get_item(TableName=TABLE, Key={"id": {"S": CIRCUIT_NAME}}).get("Item")
    return item["state"]["S"] if item else None


def trip(kie, fake, n=THRESHOLD):
    for _ in range(n):
        fake.script.append(KieUnavailable(500, "down"))
        with pytest.raises(KieUnavailable) as info:
            kie.submit("p")
        assert not isinstance(info.value, KieCircuitOpen)


def test_config_reads_env():
    cfg = breaker_config()
    assert cfg.failure_threshold == THRESHOLD
    assert cfg.recovery_timeout == RECOVERY
    assert cfg.local_cache_max_age == 0
    assert cfg.counts_as_failure(KieUnavailable(500, "x"))
    assert cfg.counts_as_failure(KieUnavailable(0, "timeout"))
    assert not cfg.counts_as_failure(KieRejected(400, "x"))
    assert not cfg.counts_as_failure(ValueError("x"))


def test_closed_circuit_passes_calls_through(table, clock):
    fake = FakeKie()
    kie = guarded(fake)
    fake.script = ["veo_task_1"]
    assert kie.submit("p") == "veo_task_1"
    assert kie.record_info("t").state is TaskState.GENERATING
    assert kie.credits() == 1.0
    assert [c[0] for c in fake.calls] == ["submit", "record_info", "credits"]


def test_opens_after_threshold_and_fails_fast(table, clock):
    fake = FakeKie()
    kie = guarded(fake)
    trip(kie, fake, THRESHOLD - 1)
    assert stored_state(table) is None  # not open yet: failures below threshold are local only
    trip(kie, fake, 1)
    assert len(fake.calls) == THRESHOLD
    assert stored_state(table) == "OPEN"

    clock.now += 5
    for call in (lambda: kie.submit("p"), lambda: kie.record_info("t"), kie.credits):
        with pytest.raises(KieCircuitOpen) as info:
            call()
        exc = info.value
        assert isinstance(exc, KieUnavailable)
        assert (exc.opened_at, exc.retry_at) == (START, START + RECOVERY)
        # No clock time (the page says when, in the person's own zone), and no UTC.
        assert exc.user_message == "Kie.ai is unavailable right now; it is tried again by itself."
        assert not re.search(r"\d|UTC", exc.user_message)
    assert len(fake.calls) == THRESHOLD  # the fake was never called while open


def test_open_state_is_shared_through_dynamodb(table, clock):
    fake = FakeKie()
    trip(guarded(fake), fake)
    # Another "instance": new persistence object and fresh local counters.
    cb_base._LOCAL_FAILURES.clear()
    cb_base._LAST_OBSERVED_STATE.clear()
    other_fake = FakeKie()
    with pytest.raises(KieCircuitOpen):
        guarded(other_fake).submit("p")
    assert other_fake.calls == []


def test_rejections_do_not_open_the_circuit(table, clock):
    fake = FakeKie()
    kie = guarded(fake)
    for _ in range(THRESHOLD * 3):
        fake.script.append(KieRejected(400, "content policy"))
        with pytest.raises(KieRejected):
            kie.submit("p")
    assert stored_state(table) is None
    fake.script.append("veo_task_ok")
    assert kie.submit("p") == "veo_task_ok"


def test_success_resets_the_failure_streak(table, clock):
    fake = FakeKie()
    kie = guarded(fake)
    trip(kie, fake, THRESHOLD - 1)
    assert kie.submit("p") == "ok"
    trip(kie, fake, THRESHOLD - 1)
    assert stored_state(table) is None
    assert kie.submit("p") == "ok"


def test_rejections_interleaved_do_not_complete_a_streak(table, clock):
    fake = FakeKie()
    kie = guarded(fake)
    trip(kie, fake, THRESHOLD - 1)
    fake.script.append(KieRejected(402, "credits"))
    with pytest.raises(KieRejected):
        kie.submit("p")
    # A rejection neither counts nor (in Powertools) resets: one more failure trips it.
    trip(kie, fake, 1)
    assert stored_state(table) == "OPEN"


def test_half_open_probe_success_closes(table, clock):
    fake = FakeKie()
    kie = guarded(fake)
    trip(kie, fake)
    clock.now += RECOVERY - 1
    with pytest.raises(KieCircuitOpen):
        kie.submit("p")
    calls_before = len(fake.calls)

    clock.now += 1  # recovery timeout reached: exactly one probe goes through
    fake.script.append("veo_task_probe")
    assert kie.submit("p") == "veo_task_probe"
    assert len(fake.calls) == calls_before + 1
    assert stored_state(table) == "CLOSED"

    # Closed again: normal calls flow, and it takes a full streak to re-open.
    assert kie.submit("p") == "ok"
    trip(kie, fake, THRESHOLD - 1)
    assert stored_state(table) == "CLOSED"


def test_half_open_probe_failure_reopens(table, clock):
    fake = FakeKie()
    kie = guarded(fake)
    trip(kie, fake)
    clock.now += RECOVERY
    fake.script.append(KieUnavailable(0, "timeout: ReadTimeout"))
    with pytest.raises(KieUnavailable) as info:
        kie.submit("p")
    assert not isinstance(info.value, KieCircuitOpen)  # the probe really ran and failed
    assert stored_state(table) == "OPEN"
    calls = len(fake.calls)
    reopened_at = clock.now

    clock.now += 1
    with pytest.raises(KieCircuitOpen) as info:
        kie.submit("p")
    assert info.value.retry_at == reopened_at + RECOVERY
    assert len(fake.calls) == calls

    clock.now = reopened_at + RECOVERY
    assert kie.submit("p") == "ok"
    assert stored_state(table) == "CLOSED"


def test_probe_is_single_across_instances(table, clock):
    fake = FakeKie()
    kie = guarded(fake)
    trip(kie, fake)
    clock.now += RECOVERY
    # This instance wins the half-open election but its probe is "still running" (we
    # simulate by acquiring the lock directly under a different owner).
    persistence = CircuitBreakerDynamoDBPersistence(table_name=TABLE)
    persistence.configure(config=breaker_config(), circuit_name=CIRCUIT_NAME)
    assert persistence.try_acquire_half_open(CIRCUIT_NAME, "someone-else", START)
    assert stored_state(table) == "HALF_OPEN"
    calls = len(fake.calls)
    with pytest.raises(KieCircuitOpen):
        kie.submit("p")
    assert len(fake.calls) == calls


def test_loops_waking_after_a_cool_down_send_kie_one_probe_and_wait_again(table, clock):
    """Six instances' loops wake just after the cool-down, one after another: the first is the
    probe; while it runs the others find the circuit half-open, and after it failed, open for
    a new cool-down. Kie is called once; each other loop learns when to look again."""
    first = FakeKie()
    trip(guarded(first), first)
    fakes = [FakeKie() for _ in range(6)]
    instances = [guarded(fake) for fake in fakes]  # each its own persistence (and cache)
    clock.now = START + RECOVERY
    probe_running = []

    def probe():  # the other loops wake while the probe's request is out
        for other in instances[1:3]:
            cb_base._PROBE_OWNER.__dict__.clear()  # another thread's identity
            with pytest.raises(KieCircuitOpen) as info:
                other.submit("p")
            probe_running.append(info.value.retry_at <= clock.now)  # cool-down over, probe elsewhere
        cb_base._PROBE_OWNER.__dict__.clear()
        return KieUnavailable(503, "still down")

    fakes[0].script = [probe]
    with pytest.raises(KieUnavailable) as info:
        instances[0].submit("p")
    assert not isinstance(info.value, KieCircuitOpen) and probe_running == [True, True]
    clock.now += 1
    for other in instances[3:]:
        with pytest.raises(KieCircuitOpen) as info:
            other.submit("p")
        assert info.value.retry_at == START + RECOVERY + RECOVERY  # reopened: a whole new cool-down
    assert sum(len(fake.calls) for fake in fakes) == 1


@pytest.fixture
def fleet(table, clock, monkeypatch):
    """The fleet-wide failure counter on the test table, on the test clock."""
    from broll_common.aws import reset_clients
    from broll_common.clients.breaker import FleetFailures

    reset_clients()
    monkeypatch.setattr("broll_common.clients.breaker.time.time", lambda: clock.now)
    return FleetFailures(TABLE, window_s=60)


def fleet_guarded(fake, fleet):
    return GuardedKie(fake, CircuitBreakerDynamoDBPersistence(table_name=TABLE), breaker_config(), fleet)


def test_failures_spread_over_instances_open_the_circuit_for_the_fleet(table, fleet):
    """Powertools counts per execution environment; FleetFailures adds them up."""
    fakes = [FakeKie() for _ in range(THRESHOLD)]
    instances = [fleet_guarded(f, fleet) for f in fakes]
    for kie, fake in zip(instances, fakes):
        cb_base._LOCAL_FAILURES.clear()  # each environment has seen only its own one failure
        trip(kie, fake, 1)
    assert stored_state(table) == "OPEN"
    with pytest.raises(KieCircuitOpen):
        instances[0].submit("p")


def test_isolated_failures_outside_the_window_do_not_add_up(table, clock, fleet):
    fake = FakeKie()
    kie = fleet_guarded(fake, fleet)
    for _ in range(THRESHOLD + 2):
        cb_base._LOCAL_FAILURES.clear()
        trip(kie, fake, 1)
        clock.now += 61
    assert stored_state(table) != "OPEN"


def test_a_success_after_failures_resets_the_fleet_count(table, fleet):
    fake = FakeKie()
    kie = fleet_guarded(fake, fleet)
    trip(kie, fake, THRESHOLD - 1)
    assert kie.submit("p") == "ok"
    cb_base._LOCAL_FAILURES.clear()
    trip(kie, fake, THRESHOLD - 1)
    assert stored_state(table) != "OPEN"
