"""Tracer and Metrics (issue 13): every handler traced and flushing its figures, every figure
in docs/METRICS.md emitted somewhere (and none emitted that is not documented), and a real
handler run that writes a real EMF line."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import time
from types import SimpleNamespace

import pytest

from broll_common.logic import callback_health
from broll_common.logic.generation import loop, settle
from broll_common.dal import history, projects as storage
from broll_common.clients.kie import TaskRecord, TaskState
from broll_common.models.domain import Scene, TimeRange
from broll_common.observability import MetricUnit, emit, metrics
from devstack.template import ROOT

PACKAGE = ROOT / "layers" / "common" / "broll_common"
HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))
# Powertools' own metric, written by capture_cold_start_metric=True on the handlers.
POWERTOOLS_METRICS = {"ColdStart"}


def documented() -> dict[str, str]:
    """Metric name -> its Dimensions cell, from the table in docs/METRICS.md."""
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", (ROOT / "docs" / "METRICS.md").read_text(), re.M)
    return {name: cell.strip() for name, cell in rows}


def emitted() -> dict[str, list[str]]:
    """Metric name -> the modules that emit it: every emit("Name", ...) or add_metric(name="Name"),
    in the package or a handler (the sweep's gauges)."""
    found: dict[str, list[str]] = {}
    for path in [*PACKAGE.rglob("*.py"), *HANDLERS]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if callee not in ("emit", "add_metric"):
                continue
            name = next((k.value for k in node.keywords if k.arg == "name"), node.args[0] if node.args else None)
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                found.setdefault(name.value, []).append(path.relative_to(ROOT).as_posix())
    return found


def test_the_metrics_page_lists_metrics():
    assert {"ClipsStarted", "ClipsCompleted", "ClipsFailed", "CreditsEstimated", "DetectionDelay",
            "BreakerOpens"} <= set(documented())


def test_every_documented_metric_is_emitted_in_the_package():
    missing = set(documented()) - POWERTOOLS_METRICS - set(emitted())
    assert not missing, f"documented in docs/METRICS.md but never emitted: {sorted(missing)}"


def test_every_emitted_metric_is_documented():
    undocumented = set(emitted()) - set(documented())
    assert not undocumented, f"emitted but not in docs/METRICS.md: {sorted(undocumented)}"


def test_every_emit_is_a_literal_name_the_checks_above_can_see():
    # emit(some_variable, ...) would escape both checks.
    for path in [*PACKAGE.rglob("*.py"), *HANDLERS]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "emit":
                assert node.args and isinstance(node.args[0], ast.Constant), f"{path.name}:{node.lineno}"


def test_documented_reasons_are_the_ones_the_code_fails_with():
    text = (ROOT / "docs" / "METRICS.md").read_text().split("### `ClipsFailed` reasons")[1]
    reasons = set(re.findall(r"^\| `(\w+)` \|", text, re.M))
    used = set()
    generation = sorted((PACKAGE / "logic" / "generation").glob("*.py"))
    for node in (n for path in generation for n in ast.walk(ast.parse(path.read_text()))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_fail", "_fail_if_current"):
            if isinstance(node.args[-1], ast.Constant):  # the reason, the last argument
                used.add(node.args[-1].value)
        if isinstance(node, ast.FunctionDef) and node.name == "failure_reason":
            used |= {c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)
                     and c.value.islower() and " " not in c.value}
    assert used == reasons, f"used only: {sorted(used - reasons)}; documented only: {sorted(reasons - used)}"


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda p: p.parent.name)
def test_every_handler_is_traced_and_flushes_its_metrics(handler):
    assert re.search(r"@lambda_entry\ndef lambda_handler", handler.read_text()), handler


def test_the_entry_decorator_logs_traces_and_flushes(monkeypatch):
    from broll_common import api

    applied = []
    monkeypatch.setattr(api.logger, "inject_lambda_context", lambda fn: applied.append("logger") or fn)
    monkeypatch.setattr(api.tracer, "capture_lambda_handler",
                        lambda **kw: (lambda fn: applied.append(("tracer", kw)) or fn))
    monkeypatch.setattr(api.metrics, "log_metrics", lambda **kw: (lambda fn: applied.append(("metrics", kw)) or fn))
    api.lambda_entry(lambda event, context: None)
    assert applied == [("metrics", {"capture_cold_start_metric": True}), ("tracer", {"capture_response": False}), "logger"]


# ---------------------------------------------------------------- real EMF lines


def emf_lines(out: str) -> list[dict]:
    """The EMF blobs among stdout's lines (Powertools' log lines are JSON too)."""
    blobs = []
    for line in out.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if isinstance(blob, dict) and "_aws" in blob:
            blobs.append(blob)
    return blobs


def names(blob: dict) -> set[str]:
    return {m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


@pytest.fixture
def emf_on(monkeypatch, capsys):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    metrics.clear_metrics()
    capsys.readouterr()
    return capsys


class _Context:
    function_name, memory_limit_in_mb, invoked_function_arn, aws_request_id = "poll", 512, "arn:aws:lambda:::poll", "1"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"handler_{name}", ROOT / "functions" / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def test_a_poll_step_that_finds_the_clip_writes_its_figures_as_emf(monkeypatch, emf_on):
    """The poll handler, with storage and Kie faked: the clip is done, so the scene completes and
    the handler's flush writes ClipsCompleted; DetectionDelay (Path=poll) is a line of its own."""
    started = time.time() - 42
    scene = Scene(sceneId="main", sceneTitle="Main", text="Cranes at dawn.", status="generating", generation=2,
                  taskId="task-1", aiPrompt="A crane at dawn.", startedAt=started,
                  timeRange=TimeRange(start=0, end=6, label="0:00–0:06"))
    writes = []
    kie = SimpleNamespace(record_info=lambda task_id: TaskRecord(task_id, TaskState.SUCCEEDED, ["https://kie/clip.mp4"]))
    monkeypatch.setattr(storage, "load_scene", lambda project_id, index, scene_id: ("u", index, scene))
    monkeypatch.setattr(storage, "update_scene", lambda *args, **kwargs: writes.append(args[3]))
    monkeypatch.setattr(history, "record", lambda *args, **kwargs: None)
    monkeypatch.setattr(callback_health, "trusted", lambda since: False)
    monkeypatch.setattr(loop, "_kie", lambda owner, s: (kie, None))
    monkeypatch.setattr(settle, "copy_from_url", lambda url, key: None)
    monkeypatch.setattr(loop, "callback_base_url", lambda: "")
    handler = _load("poll_scheduler")

    state = {"projectId": "p", "sceneId": "main", "sceneIndex": 0, "taskId": "task-1", "generation": 2, "attempt": 3}
    assert handler(state, _Context())["outcome"] == "done"
    assert writes and writes[0]["status"] == "completed"

    blobs = emf_lines(emf_on.readouterr().out)
    [completed] = [b for b in blobs if "ClipsCompleted" in names(b)]
    assert completed["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "BrollStudio"
    assert completed["ClipsCompleted"] == [1.0] and completed["service"] == "broll-studio"
    [delay] = [b for b in blobs if "DetectionDelay" in names(b)]
    assert delay["Path"] == "poll" and 41 <= delay["DetectionDelay"][0] < 60
    assert delay["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "Path"]]


def test_a_handler_that_counts_nothing_still_answers(emf_on):
    handler = _load("sign_up_gate")
    with pytest.raises(PermissionError):
        handler({"request": {"userAttributes": {"email": "eve@elsewhere.example"}}}, _Context())
    assert emf_lines(emf_on.readouterr().out) == []  # no ColdStart either: the invocation failed


def test_a_figure_that_cannot_be_written_never_raises(emf_on):
    emit("", MetricUnit.Count, 1)  # no name: Powertools refuses it
    emit("ClipsFailed", "Apples", 1, Reason="timeout")  # no such unit
    metrics.flush_metrics()
    assert emf_lines(emf_on.readouterr().out) == []


# ---------------------------------------------------------------- the sweep's gauges


def test_the_sweep_writes_the_queue_depth_and_the_breaker_open_seconds(monkeypatch, emf_on):
    """One point of each per sweep, even when nothing changed, so their alarms always see a value."""
    from broll_common.clients import breaker
    from broll_common.logic import sweep

    counts = {"checked": 4, "settled": 0, "restarted": 0, "failed": 0, "queued": 3}
    monkeypatch.setattr(sweep, "run", lambda: counts | {"batches": {"due": 0, "started": 0, "waiting": 0}})
    monkeypatch.setattr(breaker, "open_seconds", lambda: 420.0)
    answer = _load("sweep")({"source": "aws.events", "detail": {}}, _Context())
    assert answer["queued"] == 3 and answer["breakerOpenSeconds"] == 420.0
    [blob] = [b for b in emf_lines(emf_on.readouterr().out) if "QueueDepth" in names(b)]
    assert blob["QueueDepth"] == [3.0] and blob["BreakerOpenSeconds"] == [420.0] and blob["service"] == "broll-studio"
    units = {m["Name"]: m["Unit"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["QueueDepth"] == "Count" and units["BreakerOpenSeconds"] == "Seconds"


class _Circuit:
    """Powertools' persistence, answering one stored record."""

    record = None

    def __init__(self, table_name):
        pass

    def get_state(self, name):
        return _Circuit.record


@pytest.fixture
def circuit(monkeypatch):
    from broll_common.clients import breaker
    from broll_common.dal.coordination import get_coordination
    from tests.unit.fakes import FakeCoordination

    monkeypatch.setattr(breaker, "CircuitBreakerDynamoDBPersistence", _Circuit)
    monkeypatch.setenv("BREAKER_RECOVERY_TIMEOUT_S", "60")

    def set_state(state, opened_at=None):
        from aws_lambda_powertools.utilities.circuit_breaker.persistence.record import CircuitStateRecord

        _Circuit.record = CircuitStateRecord(name=breaker.CIRCUIT_NAME, state=state, opened_at=opened_at)

    with get_coordination.use(FakeCoordination()) as store:
        yield SimpleNamespace(set=set_state, store=store, open_seconds=breaker.open_seconds)


def test_breaker_open_seconds_count_from_the_first_opening_across_failed_probes(circuit):
    from aws_lambda_powertools.utilities.circuit_breaker import CircuitState

    circuit.set(CircuitState.CLOSED)
    assert circuit.open_seconds(now=1000) == 0
    circuit.set(CircuitState.OPEN, opened_at=1000)
    assert circuit.open_seconds(now=1030) == 30
    circuit.set(CircuitState.HALF_OPEN, opened_at=1000)  # the probe in flight: still down
    assert circuit.open_seconds(now=1065) == 65
    circuit.set(CircuitState.OPEN, opened_at=1070)  # the probe failed: Powertools re-opens at 1070
    assert circuit.open_seconds(now=1100) == 100
    circuit.set(CircuitState.OPEN, opened_at=1340)  # and so on, once per cool-down
    assert circuit.open_seconds(now=1400) == 400  # Kie has been down since 1000: the alarm sees 400
    circuit.set(CircuitState.CLOSED)
    assert circuit.open_seconds(now=1500) == 0
    circuit.set(CircuitState.OPEN, opened_at=2000)  # a new outage counts from its own opening
    assert circuit.open_seconds(now=2010) == 10


def test_an_open_circuit_nobody_probes_reads_as_idle_not_down(circuit):
    from aws_lambda_powertools.utilities.circuit_breaker import CircuitState

    circuit.set(CircuitState.OPEN, opened_at=1000)
    assert circuit.open_seconds(now=1100) == 100
    assert circuit.open_seconds(now=1000 + 2 * 60 + 1) == 0  # two recovery timeouts without a probe
    assert circuit.store.down_since == {}
