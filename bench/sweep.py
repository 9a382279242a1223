"""9. The sweep's reads (issue 16): what one sweep reads at 10, 1,000 and 10,000 idle projects
with 5 generating, through the sparse by-sweep index, beside what the old full-table scan
read; and the old scan's cost estimated at 100,000 projects of ~60 KB.

Runs on moto in this process (no stack). Items read and their bytes are counted from the
DynamoDB answers (moto's ConsumedCapacity is not DynamoDB's), and read units are worked
out as DynamoDB bills them: a consistent item read is 1 RCU per 4 KB (rounded up per item),
a scan 0.5 RCU per 4 KB scanned (eventually consistent, summed over the page). The old scan
is not run (moto takes minutes to scan 10,000 projects): it reads every item in the table,
so its figure is the table's item count and bytes.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from decimal import Decimal

from .common import Context, Figure, log

TABLE = "bench_sweep"
SIZES = (10, 1_000, 10_000)
GENERATING = 5
SCENES_PER_IDLE = 5  # completed scenes per idle project (the estimate below uses the issue's ~60 KB)
RUNS = 3
# The figures for the old scan: 100,000 projects, a step-7 item up to ~60 KB, a sweep every 5 minutes.
AT_SCALE_PROJECTS, AT_SCALE_ITEM_KB, SWEEPS_PER_DAY = 100_000, 60, 24 * 12
USD_PER_MILLION_RRU = 0.125  # on-demand read request units, us-east-1
SCANS_PER_SWEEP = 2  # the old sweep scanned twice: generating scenes, then scheduled projects


def _scene(number: int, status: str) -> dict:
    from broll_common.dal.projects import scene_document
    from broll_common.models.domain import Scene, TimeRange

    prompt = ("Medium shot, slow dolly in on a container port at dawn, cranes lifting boxes, warm low sun, "
              "gulls and distant engines, documentary B-roll, natural colour grade, shallow depth of field. ") * 3
    return scene_document(Scene(
        sceneId=f"s{number}", sceneTitle=f"Scene {number}", text="Ships queue outside the harbour again. " * 4,
        timeRange=TimeRange(start=number * 6, end=number * 6 + 6, label=""), status=status, aiPrompt=prompt,
        promptSource="claude", videoKey=f"projects/p/broll/s{number}/task.mp4" if status == "completed" else None,
        generation=1,
    ))


def _wire_bytes(item: dict) -> int:
    """An item's size as DynamoDB counts it, near enough: names plus values in wire form."""
    return len(json.dumps(item, separators=(",", ":")).encode())


def _rcu_consistent(sizes: list[int]) -> float:
    return sum(math.ceil(size / 4096) for size in sizes)


class _Reads:
    """What the store's connection read: index entries (Query), items and their bytes
    (BatchGetItem), and the seconds moto took to answer the index queries."""

    def __init__(self, client) -> None:
        self.reset()
        client.meta.events.register("before-call.dynamodb.Query", self._started)
        client.meta.events.register("after-call.dynamodb", self._count)

    def _started(self, **_) -> None:
        self._query_began = time.perf_counter()

    def _count(self, parsed, model, **_) -> None:
        if model.name == "Query":
            self.keys += len(parsed.get("Items", []))  # keys only: a fraction of one RCU per page
            self.query_s += time.perf_counter() - self._query_began
        elif model.name == "BatchGetItem":
            found = [item for items in parsed.get("Responses", {}).values() for item in items]
            self.items += len(found)
            self.sizes += [_wire_bytes(item) for item in found]

    def reset(self) -> None:
        self.keys, self.items, self.sizes, self.query_s, self._query_began = 0, 0, [], 0.0, 0.0


def _idle(table, first: int, last: int) -> int:
    """Idle projects first..last-1 (steps 0 and 7), batch-written; returns the wire bytes of one."""
    from boto3.dynamodb.types import TypeSerializer

    # boto3's resource layer takes numbers as Decimal only.
    scenes = json.loads(json.dumps([_scene(n, "completed") for n in range(SCENES_PER_IDLE)]), parse_float=Decimal)
    steps = [
        {"step_number": 0, "listing_owner": "bench", "data": {"name": "idle-00000", "ownerId": "bench"}},
        {"step_number": 7, "data": {"scenes": scenes, "ownerId": "bench", "status": "completed",
                                    "updatedAt": "2026-01-01T00:00:00.000+00:00"}},
    ]
    with table.batch_writer() as batch:
        for n in range(first, last):
            for step in steps:
                batch.put_item(Item={"project_id": f"idle-{n:05d}", **step})
    wire = TypeSerializer()
    return sum(_wire_bytes({"project_id": {"S": "idle-00000"}} | {k: wire.serialize(v) for k, v in step.items()})
               for step in steps)


def _measure() -> list[dict]:
    import boto3
    from moto import mock_aws

    from broll_common.aws import reset_clients
    from broll_common.config import reset_settings
    from broll_common.dal import projects as storage
    from devstack.template import load as load_template

    os.environ.update(PROJECT_STEPS_TABLE=TABLE, AWS_DEFAULT_REGION="us-east-1")
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]  # in-process moto, never the local stack's endpoint
    reset_settings()
    rows = []
    with mock_aws():
        reset_clients()
        storage.ProjectStep._connection = None
        ddb = boto3.client("dynamodb")
        props = load_template().tables["ProjectStepsTable"]
        ddb.create_table(TableName=TABLE, KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"],
                         GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"], BillingMode="PAY_PER_REQUEST")
        # The generating ones through the product's own writes, so their flag is set as in use.
        for n in range(GENERATING):
            project_id = f"busy-{n}"
            scenes = [_scene(i, "completed") for i in range(SCENES_PER_IDLE - 1)] + [_scene(SCENES_PER_IDLE - 1, "idle")]
            storage.create_project(project_id, {0: {"name": project_id}, 7: {"scenes": scenes}}, owner="bench")
            storage.update_scene(project_id, SCENES_PER_IDLE - 1, f"s{SCENES_PER_IDLE - 1}",
                                 {"status": "generating", "generation": 2, "startedAt": time.time()}, owner="bench")
        reads = _Reads(storage._bind()._get_connection().connection.client)
        table, made = boto3.resource("dynamodb").Table(TABLE), 0
        for size in SIZES:
            log(f"sweep: {size} idle projects + {GENERATING} generating")
            project_bytes = _idle(table, made, size)
            made = size
            times, query_times = [], []
            for _ in range(RUNS):
                reads.reset()
                started = time.perf_counter()
                found = storage.sweep_work().generating  # what SweepFunction reads (logic/sweep.py)
                times.append(time.perf_counter() - started)
                query_times.append(reads.query_s)
            assert len(found) == GENERATING, found  # the sweep saw every generating scene
            # The old scan read every item: the idle ones, and the generating ones at about their size.
            scanned = ddb.describe_table(TableName=TABLE)["Table"]["ItemCount"]
            scanned_bytes = (size + GENERATING) * project_bytes
            rows.append({"idle": size, "keys": reads.keys, "items": reads.items, "rcu": _rcu_consistent(reads.sizes),
                         "seconds": statistics.median(times), "query_s": statistics.median(query_times),
                         "scanned": scanned, "scan_rcu": SCANS_PER_SWEEP * scanned_bytes / 4096 / 2,
                         "project_kb": project_bytes / 1024})
        reset_clients()
        storage.ProjectStep._connection = None
    return rows


def at_scale() -> dict:
    """The old sweep at the issue's scale (computed, not run): RCUs and bytes per sweep, per day, per month."""
    per_scan = AT_SCALE_PROJECTS * AT_SCALE_ITEM_KB / 4 / 2
    per_sweep = SCANS_PER_SWEEP * per_scan
    per_day = per_sweep * SWEEPS_PER_DAY
    return {"rcu_sweep": per_sweep, "gb_sweep": SCANS_PER_SWEEP * AT_SCALE_PROJECTS * AT_SCALE_ITEM_KB / 1e6,
            "rcu_day": per_day, "usd_month": per_day * 30 / 1e6 * USD_PER_MILLION_RRU,
            "new_rcu_sweep": GENERATING * math.ceil(AT_SCALE_ITEM_KB / 4) + 0.5}


def run(ctx: Context) -> None:
    rows = _measure()
    for row in rows:
        ctx.add(Figure(
            "9 sweep", f"{row['idle']:,} idle + {GENERATING} generating: one sweep's reads; wall (median of {RUNS})",
            f"{row['keys']} index keys + {row['items']} items = {row['rcu']:.0f} RCU; {row['seconds'] * 1000:.0f} ms "
            f"(moto's index queries {row['query_s'] * 1000:.0f} ms); old scans: {SCANS_PER_SWEEP} × {row['scanned']:,} "
            f"items ≈ {row['scan_rcu']:,.0f} RCU",
            note="moto answers an index query by walking the whole table; DynamoDB reads only the index's entries",
        ))
    first, last = rows[0], rows[-1]
    flat = (last["keys"], last["items"], last["rcu"]) == (first["keys"], first["items"], first["rcu"])
    ctx.add(Figure("9 sweep", f"sweep reads from {first['idle']:,} to {last['idle']:,} idle projects",
                   f"{first['items']} → {last['items']} items, {first['rcu']:.0f} → {last['rcu']:.0f} RCU",
                   "flat", flat,
                   note=f"an idle project ≈ {first['project_kb']:.1f} KB (steps 0 and 7, {SCENES_PER_IDLE} scenes); "
                        "one read per sweep: sweep_work(), for the stuck scenes and the due schedules"))
    big = at_scale()
    ctx.add(Figure(
        "9 sweep", f"old scan at {AT_SCALE_PROJECTS:,} projects of ~{AT_SCALE_ITEM_KB} KB (computed)",
        f"≈ {big['rcu_sweep']:,.0f} RCU and {big['gb_sweep']:.0f} GB per sweep; {big['rcu_day'] / 1e6:,.0f} M RCU/day "
        f"(≈ ${big['usd_month']:,.0f}/month on demand); by-sweep index: ≈ {big['new_rcu_sweep']:.0f} RCU per sweep",
        note=f"{SCANS_PER_SWEEP} scans per sweep, every 5 min, 1 MB pages one after another (≈ "
             f"{big['gb_sweep'] * 1000 / SCANS_PER_SWEEP:,.0f} per scan: past the sweep's 120 s); the index's figure is "
             f"for {GENERATING} generating at ~{AT_SCALE_ITEM_KB} KB, whatever the number of projects",
    ))
