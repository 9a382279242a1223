"""5. The API under load on the local stack: status GET and project GET, p50/p99 at 1, 10
and 50 concurrent clients (bounded request counts, loopback only), and errors."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from .common import ROOT, Context, Figure, fmt_ms, log, pct

LEVELS = ((1, 100), (10, 20), (50, 8))  # (clients, requests per client)


def measure(url: str, clients: int, per_client: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.loadgen", url, str(clients), str(per_client)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout)


def target_project(ctx: Context) -> tuple[str, str, int]:
    """The Generate All project (50 finished scenes) if it ran, else the first flow batch."""
    chosen = ctx.data.get("generate_all") or {}
    if chosen.get("task_id"):
        project_id, task_id = chosen["project_id"], chosen["task_id"]
    else:
        batch = next(iter(ctx.data["flow"].values()))
        project_id, task_id = batch["project_id"], next(t for t in batch["tasks"].values() if t)
    scenes = len(httpx.get(f"{ctx.stack.api_url}/api/projects/{project_id}").json()["scenes"])
    return project_id, task_id, scenes


def run(ctx: Context) -> None:
    project_id, task_id, scenes = target_project(ctx)
    routes = {
        "status GET": f"{ctx.stack.api_url}/api/projects/{project_id}/broll/status/{task_id}",
        "project GET": f"{ctx.stack.api_url}/api/projects/{project_id}",
    }
    results = {}
    for label, url in routes.items():
        for clients, per_client in LEVELS:
            log(f"api load: {label} × {clients} clients")
            got = measure(url, clients, per_client)
            results[(label, clients)] = got
            p50, p99 = pct(got["latencies"], 50), pct(got["latencies"], 99)
            is_target = label == "status GET" and clients == 50
            ctx.add(Figure(
                "5 api load", f"{label} ({scenes} scenes) @ {clients} clients: p50 / p99, errors",
                f"{fmt_ms(p50)} / {fmt_ms(p99)}, {len(got['errors'])} of {len(got['latencies'])}"
                f" ({len(got['latencies']) / got['seconds']:.0f} req/s)",
                "p99 ≤ 50 ms" if is_target else "", (p99 <= 0.050 and not got["errors"]) if is_target else None))
    ctx.data["api_load"] = {f"{k[0]}@{k[1]}": {"p50": pct(v["latencies"], 50), "p99": pct(v["latencies"], 99),
                                               "errors": len(v["errors"])} for k, v in results.items()}
