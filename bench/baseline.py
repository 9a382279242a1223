"""The naive baseline, in the same run: a client that submits straight to Kie (no callback)
and asks record-info for each task every 5 s (compressed by the same factor) until done."""

from __future__ import annotations

import time

import httpx

from .common import Context, log, reset_emulator, spread_config


def run(ctx: Context) -> None:
    from devstack.kie_emulator import DEFAULT_API_KEY

    stack, scale = ctx.stack, ctx.scale
    reset_emulator(stack, **spread_config(scale))
    interval = scale.baseline_interval_s
    log(f"baseline: {ctx.batch} clips, record-info every {interval:g} s")
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    body = {"prompt": "Harbour cranes lift containers at dawn, slow dolly, golden light.",
            "model": "veo3_fast", "aspectRatio": "9:16"}
    seen: dict[str, float] = {}
    with httpx.Client(base_url=stack.emulator.base_url, headers=headers, timeout=10) as kie:
        tasks = []
        for _ in range(ctx.batch):
            answer = kie.post("/api/v1/veo/generate", json=body).json()
            if answer.get("code") == 200:
                tasks.append(answer["data"]["taskId"])
            else:  # the 20-per-10-s limit: the naive client waits a window and tries again
                time.sleep(10)
                tasks.append(kie.post("/api/v1/veo/generate", json=body).json()["data"]["taskId"])
        next_poll = {t: time.monotonic() + interval for t in tasks}
        records = {}
        deadline = time.monotonic() + scale.gen_max_s + 60
        while next_poll and time.monotonic() < deadline:
            task_id, due = min(next_poll.items(), key=lambda kv: kv[1])
            time.sleep(max(0.0, due - time.monotonic()))
            record = kie.get("/api/v1/veo/record-info", params={"taskId": task_id}).json()["data"]
            if record["successFlag"] != 0:
                seen[task_id] = time.time()
                records[task_id] = record
                del next_poll[task_id]
            else:
                next_poll[task_id] = due + interval
    ctx.data["baseline"] = {"tasks": tasks, "seen": seen, "records": records, "stats": stack.emulator.stats()}
