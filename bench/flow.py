"""Runs one batch of clips through the product (callbacks on, or dropped so only the poll
loop finds them) and keeps the raw facts that detection, kie_calls and transitions read:
each task's completeTime, when its scene flipped to completed in DynamoDB, the emulator's
record-info counts, the poll loop's execution histories and the timed Lambda invocations."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from .common import (Context, SceneWatcher, api_client, log, new_project_id, project_body, reset_emulator, spread_config,
                     wait_executions_done)


def task_records(stack, task_ids) -> dict[str, dict]:
    """record-info for each task, read after the emulator's counters were copied."""
    from devstack.kie_emulator import DEFAULT_API_KEY

    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    with httpx.Client(base_url=stack.emulator.base_url, headers=headers, timeout=10) as kie:
        return {t: kie.get("/api/v1/veo/record-info", params={"taskId": t}).json()["data"] for t in task_ids}


def execution_histories(stack, executions) -> dict[str, list[dict]]:
    sfn = stack.cloud.client("stepfunctions")
    histories = {}
    for execution in executions:
        events = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution["executionArn"]):
            events += page["events"]
        histories[execution["name"]] = events
    return histories


def run_batch(ctx: Context, mode: str) -> dict:
    """mode: 'callbacks' or 'poll-only' (the emulator drops every callback)."""
    stack, scale, batch = ctx.stack, ctx.scale, ctx.batch
    reset_emulator(stack, **spread_config(scale), drop_callbacks=(mode == "poll-only"))
    project_id = new_project_id("bench-" + mode.replace("-", ""))
    with api_client(stack) as api:
        created = api.post("/api/projects", json=project_body(project_id, batch))
        created.raise_for_status()
        scene_ids = [s["sceneId"] for s in created.json()["scenes"]]
        log(f"flow[{mode}]: {batch} clips, generation {scale.gen_min_s:g}-{scale.gen_max_s:g} s")
        started = time.time()
        with SceneWatcher(stack, project_id) as watcher:
            def generate(scene_id: str) -> dict:
                answer = api.post(f"/api/projects/{project_id}/broll/generate", json={"sceneId": scene_id})
                return answer.json() if answer.status_code == 202 else {"sceneId": scene_id, "submitError": answer.text}

            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(generate, scene_ids))
            finished = watcher.wait(lambda st: all(s in ("completed", "failed") for s in st.values()),
                                    timeout=scale.gen_max_s + 90)
            flips = {sid: watcher.first_seen.get((sid, "completed")) for sid in scene_ids}
            statuses = watcher.statuses()
    executions = wait_executions_done(stack, project_id)
    stats = stack.emulator.stats()  # copied before task_records adds record-info calls of its own
    tasks = {a["sceneId"]: a.get("taskId") for a in answers}
    records = task_records(stack, [t for t in tasks.values() if t])
    return {
        "mode": mode,
        "project_id": project_id,
        "started": started,
        "finished_in_time": finished,
        "tasks": tasks,
        "flips": flips,
        "statuses": statuses,
        "records": records,
        "stats": stats,
        "executions": executions,
        "histories": execution_histories(stack, executions),
        "submit_errors": [a for a in answers if "submitError" in a],
    }


def run(ctx: Context) -> None:
    ctx.data["flow"] = {mode: run_batch(ctx, mode) for mode in ("callbacks", "poll-only")}
