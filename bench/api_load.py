"""5. The API under load on the local stack: status GET and project GET, p50/p99 at 1, 10
and 50 concurrent clients (bounded request counts, loopback only), and errors."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

import os

from .common import ROOT, Context, Figure, api_client, auth_headers, fmt_ms, log, pct

LEVELS = ((1, 100), (10, 20), (50, 8))  # (clients, requests per client)


def measure(url: str, clients: int, per_client: int, headers: dict) -> dict:
    env = os.environ | {"BENCH_AUTHORIZATION": headers.get("Authorization", "")}
    out = subprocess.run([sys.executable, "-m", "bench.loadgen", url, str(clients), str(per_client)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout)


def moto_share(stack, url: str, function: str, headers: dict, requests: int = 30) -> tuple[float, float]:
    """One client, in this process: mean latency and the part of it spent waiting on local AWS
    (every botocore request the route's handler makes, timed), to tell the product's work from moto's."""
    import threading
    import time

    import botocore.endpoint as endpoint

    spent, original, marker = [0.0], endpoint.Endpoint._send, threading.local()
    pool = stack.functions.pools[function]
    invoke = pool.invoke

    def marked(event):
        marker.on = True
        try:
            return invoke(event)
        finally:
            marker.on = False

    def timed(self, request):
        start = time.perf_counter()
        try:
            return original(self, request)
        finally:
            if getattr(marker, "on", False):
                spent[0] += time.perf_counter() - start

    with httpx.Client(timeout=30, headers=headers) as http:
        http.get(url).raise_for_status()
        endpoint.Endpoint._send, pool.invoke = timed, marked
        try:
            start = time.perf_counter()
            for _ in range(requests):
                http.get(url)
            total = time.perf_counter() - start
        finally:
            endpoint.Endpoint._send, pool.invoke = original, invoke
    return total / requests, spent[0] / requests


def target_project(ctx: Context) -> tuple[str, str, int, int]:
    """The Generate All project (50 finished scenes) if it ran, else the first flow batch:
    (project, a task, the number of scenes, the place of the task's scene)."""
    chosen = ctx.data.get("generate_all") or {}
    if chosen.get("task_id"):
        project_id, task_id = chosen["project_id"], chosen["task_id"]
    else:
        batch = next(iter(ctx.data["flow"].values()))
        project_id, task_id = batch["project_id"], next(t for t in batch["tasks"].values() if t)
    with api_client(ctx.stack) as api:
        scenes = api.get(f"/api/projects/{project_id}").json()["scenes"]
    return project_id, task_id, len(scenes), next(i for i, s in enumerate(scenes) if s["taskId"] == task_id)


def run(ctx: Context) -> None:
    project_id, task_id, scenes, index = target_project(ctx)
    status = f"{ctx.stack.api_url}/api/projects/{project_id}/broll/status/{task_id}"
    routes = {
        # As the page asks: with the scene's place, so only that scene is read.
        "status GET": (f"{status}?sceneIndex={index}", "StatusFunction"),
        "status GET without sceneIndex": (status, "StatusFunction"),
        "project GET": (f"{ctx.stack.api_url}/api/projects/{project_id}", "ProjectsFunction"),
    }
    results, headers = {}, auth_headers(ctx.stack)
    with api_client(ctx.stack) as api:
        size = len(api.get(f"/api/projects/{project_id}").content)
    ctx.add(Figure("5 api load", f"project GET response ({scenes} scenes)", f"{size / 1024:.1f} KB"))
    small = ctx.data.get("one_clip") or {}
    if small.get("task_id"):
        url = f"{ctx.stack.api_url}/api/projects/{small['project_id']}/broll/status/{small['task_id']}"
        mean, in_aws = moto_share(ctx.stack, url, "StatusFunction", headers)
        ctx.add(Figure("5 api load", "status GET (1-scene project): one request, of which waiting on moto",
                       f"{fmt_ms(mean)}, {fmt_ms(in_aws)} ({in_aws / mean * 100:.0f} %)"))
    for label, (url, function) in routes.items():
        mean, in_aws = moto_share(ctx.stack, url, function, headers)
        ctx.add(Figure("5 api load", f"{label}: one request, of which waiting on local AWS (moto)",
                       f"{fmt_ms(mean)}, {fmt_ms(in_aws)} ({in_aws / mean * 100:.0f} %)"))
        for clients, per_client in LEVELS:
            log(f"api load: {label} × {clients} clients")
            got = measure(url, clients, per_client, headers)
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
