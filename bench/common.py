"""Shared pieces: time scaling, the in-process stack, a storage watcher, figures, stats."""

from __future__ import annotations

import logging
import os
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CACHE = BENCH / ".cache"

# Real-world figures the compression factor divides.
REAL_GEN_MIN_S, REAL_GEN_MAX_S = 60.0, 180.0
REAL_EXPECTED_S = 120.0
REAL_DEADLINE_S = 900.0
# The product's own poll settings (its defaults, read from broll_common.config): every
# duration among them is divided by the compression factor, the growth factor is not.
POLL_DURATIONS = ("POLL_FIRST_WAIT_S", "POLL_CALLBACK_GRACE_S", "POLL_MIN_WAIT_S", "POLL_MAX_WAIT_S")


def real_poll_settings() -> dict[str, float]:
    """The product's defaults, whatever the environment of this process says."""
    from broll_common import config

    saved = {name: os.environ.pop(name) for name in [*POLL_DURATIONS, "POLL_FACTOR"] if name in os.environ}
    config.reset_settings()
    s = config.settings()
    real = {
        "POLL_FIRST_WAIT_S": s.poll_first_wait_s, "POLL_CALLBACK_GRACE_S": s.poll_callback_grace_s,
        "POLL_MIN_WAIT_S": s.poll_min_wait_s, "POLL_MAX_WAIT_S": s.poll_max_wait_s, "POLL_FACTOR": s.poll_factor,
    }
    os.environ.update(saved)
    config.reset_settings()
    return real
REAL_BASELINE_INTERVAL_S = 5.0
LAMBDA_MB = 512
SFN_USD_PER_TRANSITION = 0.025 / 1000
LAMBDA_USD_PER_GB_S_ARM = 0.0000133334
LAMBDA_USD_PER_REQUEST = 0.20 / 1_000_000


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Scale:
    """Every product/emulator time divided by `factor` (the submit limit, 20 per 10 s, is not)."""

    factor: float

    @property
    def gen_min_s(self) -> float:
        return REAL_GEN_MIN_S / self.factor

    @property
    def gen_max_s(self) -> float:
        return REAL_GEN_MAX_S / self.factor

    @property
    def baseline_interval_s(self) -> float:
        return REAL_BASELINE_INTERVAL_S / self.factor

    def env(self) -> dict[str, str]:
        real = real_poll_settings()
        return {name: f"{real[name] / self.factor:g}" for name in POLL_DURATIONS} | {
            "POLL_FACTOR": f"{real['POLL_FACTOR']:g}",
            "EXPECTED_GENERATION_S": f"{REAL_EXPECTED_S / self.factor:g}",
            # A guard, not a timing: kept long enough for Generate All's uncompressed submit spread.
            "GENERATION_DEADLINE_S": f"{max(REAL_DEADLINE_S / self.factor, 300):g}",
        }

    def poll_looks(self, clip_s: float = 120.0, callbacks: bool = False) -> tuple[list[float], list[float]]:
        """When the loop looks at a clip of clip_s real seconds: the real schedule, and the
        compressed run's whole-second waits scaled back up (both without jitter)."""
        from broll_common.logic.backoff import PollSchedule
        from broll_common.logic.generation import whole_seconds

        real = real_poll_settings()

        def schedule(div: float) -> PollSchedule:
            return PollSchedule(first=real["POLL_FIRST_WAIT_S"] / div, callback_grace=real["POLL_CALLBACK_GRACE_S"] / div,
                                factor=real["POLL_FACTOR"], floor=real["POLL_MIN_WAIT_S"] / div,
                                cap=real["POLL_MAX_WAIT_S"] / div, jitter=0)

        def looks(div: float, rounding) -> list[float]:
            t, attempt, out, sched = 0.0, 0, [], schedule(div)
            while t < clip_s / div:
                t += rounding(sched.wait(attempt, t, callbacks))
                attempt += 1
                out.append(round(t * div, 1))
            return out

        return looks(1.0, lambda w: w), looks(self.factor, whole_seconds)


def pct(values, q: float) -> float | None:
    """Percentile by linear interpolation (q in 0..100); None for no values."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    rank = (len(values) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)


@dataclass
class Figure:
    """One measured figure, optionally with a target and a verdict."""

    section: str
    name: str
    value: str
    target: str = ""
    met: bool | None = None  # None: informational, no target
    note: str = ""

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("MET" if self.met else "MISSED")


@dataclass
class Context:
    """What one run shares between measurements."""

    scale: Scale
    batch: int
    stack: object = None
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)


def fmt_s(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} s"


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.0f} ms"


# ----- the stack -------------------------------------------------------------------------------


def start_stack(scale: Scale):
    """The whole local product in this process (random free ports), times compressed."""
    sys.path.insert(0, str(ROOT / "layers" / "common"))
    os.environ.update(scale.env())
    os.environ.pop("KIE_API_KEY", None)  # always the emulator: a benchmark must not spend credits
    for name in ("werkzeug", "moto", "botocore", "urllib3", "httpx", "devstack", "kie_emulator"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from broll_common.api import logger as product_logger  # the handlers' shared Powertools logger

    product_logger.setLevel("WARNING")  # INFO lines per invocation would drown the table
    from devstack.stack import LocalStack, StackOptions

    stack = LocalStack(
        StackOptions(
            api_port=0, moto_port=0, kie_port=0,
            kie_delay_s=REAL_EXPECTED_S / scale.factor,
            sweep_every_s=3600,  # the sweep repairs; it is not part of the measured flow
            poll_first_wait_s=float(scale.env()["POLL_FIRST_WAIT_S"]),
            poll_max_wait_s=float(scale.env()["POLL_MAX_WAIT_S"]),
            seed_demo=True,
        )
    ).start()
    quiet_product_logs()
    return stack


def quiet_product_logs() -> None:
    """The stack sets POWERTOOLS_LOG_LEVEL=INFO from the template; per-invocation INFO lines
    would drown the table, so the product's loggers (parent and children) log warnings only."""
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("broll"):
            logging.getLogger(name).setLevel(logging.WARNING)


def auth_headers(stack, user: str | None = None) -> dict:
    """A signed-in user's Authorization header (the local JWT issuer), when the stack has one."""
    issuer = getattr(stack, "issuer", None)
    if issuer is None:
        return {}
    if user is None:
        from devstack.auth import DEMO_USER

        user = DEMO_USER
    return {"Authorization": f"Bearer {issuer.mint(user)}"}


def api_client(stack, timeout: float = 60):
    import httpx

    return httpx.Client(base_url=stack.api_url, timeout=timeout, headers=auth_headers(stack))


def reset_emulator(stack, **config) -> None:
    stack.emulator.reset()
    if config:
        stack.emulator.configure(**config)


def spread_config(scale: Scale) -> dict:
    """Generation times uniform over 60-180 s, compressed."""
    return {"delay_seconds": scale.gen_min_s, "delay_jitter_seconds": scale.gen_max_s - scale.gen_min_s}


def new_project_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def project_body(project_id: str, scenes: int) -> dict:
    return {
        "projectId": project_id,
        "name": f"Bench {project_id}",
        "stage3": {
            "editedScenes": [
                {"sceneId": f"s{i:02d}", "sceneTitle": f"Scene {i}",
                 "text": f"Scene {i}: harbour cranes lift containers at dawn while gulls circle the quay."}
                for i in range(scenes)
            ]
        },
        # 4 s a scene: each is one clip (a scene over 10 s would be planned as several sub-shots).
        "stage4": {"audioDurationSec": 4.0 * scenes},
    }


def wait_executions_done(stack, prefix: str, timeout: float = 120.0) -> list[dict]:
    """Every execution of the poll loop whose name starts with `prefix`, once none is running."""
    sfn = stack.cloud.client("stepfunctions")
    arn = stack.cloud.names["PollLoopStateMachine"]
    deadline = time.monotonic() + timeout
    while True:
        executions = []
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            executions += [e for e in page["executions"] if e["name"].startswith(prefix)]
        if all(e["status"] != "RUNNING" for e in executions) or time.monotonic() > deadline:
            return executions
        time.sleep(0.5)


class SceneWatcher:
    """Watches the project's step-7 item every `interval` seconds and records when each
    scene's status first becomes each value (epoch seconds).

    It reads moto's in-process table directly (no HTTP request, no copy of the item, none of
    devstack's DynamoDB lock): a GetItem of a 50-scene item costs moto ~50-100 ms of CPU and
    holds the lock every product write waits for, so watching through the API at 50 ms would
    slow down the very flow it measures. Falls back to GetItem if moto's internals differ."""

    def __init__(self, stack, project_id: str, interval: float = 0.05):
        self._stack = stack
        self._table_name = os.environ["PROJECT_STEPS_TABLE"]
        self._project_id = project_id
        self.interval = interval
        self.first_seen: dict[tuple[str, str], float] = {}  # (sceneId, status) -> time
        self.scenes: dict[str, dict] = {}
        self._read = self._direct_reader() or self._api_reader()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-watcher")

    def _direct_reader(self):
        try:
            from moto.dynamodb.models import dynamodb_backends
            from moto.dynamodb.models.dynamo_type import DynamoType

            from devstack.cloud import ACCOUNT, REGION

            table = dynamodb_backends[ACCOUNT][REGION].get_table(self._table_name)
            hash_key, range_key = DynamoType({"S": self._project_id}), DynamoType({"N": "7"})
        except Exception:  # noqa: BLE001 - moto moved things: use the API instead
            return None

        def read() -> list[dict]:
            item = table.items.get(hash_key, {}).get(range_key)
            if item is None:
                return []
            scenes = item.attrs["data"].value["scenes"].value
            return [{k: (v.value if k in ("sceneId", "status", "taskId", "error") else None)
                     for k, v in scene.value.items()} for scene in scenes]

        return read

    def _api_reader(self):
        from boto3.dynamodb.types import TypeDeserializer

        ddb, des = self._stack.cloud.client("dynamodb"), TypeDeserializer()
        key = {"project_id": {"S": self._project_id}, "step_number": {"N": "7"}}

        def read() -> list[dict]:
            item = ddb.get_item(TableName=self._table_name, Key=key, ConsistentRead=True).get("Item")
            return des.deserialize(item["data"]).get("scenes", []) if item else []

        return read

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.time()
            try:
                scenes = self._read()
            except (RuntimeError, KeyError, AttributeError):  # read while moto was writing: next tick
                scenes = []
            seen = time.time()
            for scene in scenes:
                self.scenes[scene["sceneId"]] = scene
                self.first_seen.setdefault((scene["sceneId"], scene.get("status")), seen)
            self._stop.wait(max(0.0, self.interval - (time.time() - started)))

    def statuses(self) -> dict[str, str]:
        return {sid: s.get("status") for sid, s in self.scenes.items()}

    def wait(self, until, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.scenes and until(self.statuses()):
                return True
            time.sleep(0.1)
        return False


class InvocationTimer:
    """Times every in-process invocation of each Lambda function (wraps the stack's pools)."""

    def __init__(self, stack):
        self.calls: list[tuple[str, dict, float, float]] = []  # (function, event, start, seconds)
        self._lock = threading.Lock()
        for name, pool in stack.functions.pools.items():
            self._wrap(name, pool)

    def _wrap(self, name: str, pool) -> None:
        original = pool.invoke

        def invoke(event, _original=original, _name=name):
            start = time.time()
            t0 = time.perf_counter()
            try:
                return _original(event)
            finally:
                elapsed = time.perf_counter() - t0
                with self._lock:
                    self.calls.append((_name, event, start, elapsed))

        pool.invoke = invoke

    def of(self, function: str, since: float = 0.0) -> list[tuple[dict, float, float]]:
        with self._lock:
            return [(e, s, d) for f, e, s, d in self.calls if f == function and s >= since]
