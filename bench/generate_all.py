"""4. Generate All of 50 scenes: the busiest 10 s window of submissions at Kie, 429s that
reach a scene as a failure, and the wall time to all-ready against one clip's time.

Every clip takes the same (compressed) 120 s here, so "one clip's time" is well defined:
it is measured first, on its own, through the single-scene Generate. Kie's submit limit
(20 per 10 s) is real time and is not compressed, so the excess over one clip is not either."""

from __future__ import annotations

import time

import httpx

from .common import (REAL_EXPECTED_S, Context, Figure, SceneWatcher, api_client, fmt_s, log, new_project_id, project_body,
                     reset_emulator, wait_executions_done)
from .flow import task_records

SCENES = 50


def one_clip(ctx: Context, api: httpx.Client) -> float:
    project_id = new_project_id("bench-one")
    api.post("/api/projects", json=project_body(project_id, 1)).raise_for_status()
    with SceneWatcher(ctx.stack, project_id) as watcher:
        started = time.time()
        answer = api.post(f"/api/projects/{project_id}/broll/generate", json={"sceneId": "s00"})
        answer.raise_for_status()
        watcher.wait(lambda st: st.get("s00") in ("completed", "failed"), timeout=ctx.scale.gen_max_s + 60)
        ctx.data["one_clip"] = {"project_id": project_id, "task_id": answer.json().get("taskId")}
        return watcher.first_seen.get(("s00", "completed"), float("nan")) - started


def run(ctx: Context) -> None:
    stack, clip_s = ctx.stack, REAL_EXPECTED_S / ctx.scale.factor
    reset_emulator(stack, delay_seconds=clip_s, delay_jitter_seconds=0.0)
    with api_client(stack) as api:
        log(f"generate-all: one clip of {clip_s:g} s first")
        single = one_clip(ctx, api)
        time.sleep(10.5)  # let the one submit leave Kie's 10 s window
        reset_emulator(stack, delay_seconds=clip_s, delay_jitter_seconds=0.0)
        project_id = new_project_id("bench-all")
        api.post("/api/projects", json=project_body(project_id, SCENES)).raise_for_status()
        log(f"generate-all: {SCENES} scenes")
        with SceneWatcher(stack, project_id) as watcher:
            started = time.time()
            answer = api.post(f"/api/projects/{project_id}/broll/generate-all", json={})
            answered = time.time() - started
            answer.raise_for_status()
            watcher.wait(lambda st: all(s in ("completed", "failed") for s in st.values()), timeout=300)
            statuses, scenes = watcher.statuses(), dict(watcher.scenes)
            done_at = [watcher.first_seen.get((sid, "completed")) for sid in statuses]
    stats = stack.emulator.stats()
    wait_executions_done(stack, project_id)  # so nothing of this run is still polling during the next part
    failed = {sid: scenes[sid].get("error") for sid, st in statuses.items() if st == "failed"}
    by_429 = {sid: e for sid, e in failed.items() if e and "rate limit" in e.lower()}
    not_done = [sid for sid, st in statuses.items() if st not in ("completed", "failed")]
    tasks = [s.get("taskId") for s in scenes.values() if s.get("taskId")]
    records = task_records(stack, tasks)
    creates = sorted(r["createTime"] / 1000 for r in records.values())
    wall = (max(d for d in done_at if d) - started) if any(done_at) else float("nan")
    spread = (creates[-1] - started) if creates else float("nan")
    ctx.data["generate_all"] = {"project_id": project_id, "task_id": tasks[0] if tasks else None, "wall": wall,
                                "single": single, "stats": stats, "failed": failed, "submit_spread": spread}
    excess = wall - single
    buckets = [0] * (int(max(creates, default=started) - started) // 10 + 1)
    for at in creates:
        buckets[int(at - started) // 10] += 1
    ctx.add(
        Figure("4 generate all", "submits in any 10 s window (max)", str(stats["max_generate_calls_per_window"]),
               "≤ 20", stats["max_generate_calls_per_window"] <= 20),
        Figure("4 generate all", "429s reaching a scene as failure", str(len(by_429)), "0", len(by_429) == 0,
               note=f"Kie answered {stats['rate_limited']} × 429; {len(failed)} scenes failed in all;"
                    f" {len(not_done)} unfinished"),
        Figure("4 generate all", "generate-all request answered in", fmt_s(answered),
               note="HTTP API integrations time out at 30 s"),
        Figure("4 generate all", "submits accepted per 10 s after the request (0–10 s, 10–20 s, …)",
               " / ".join(map(str, buckets))),
        Figure("4 generate all", "one clip, alone (compressed 120 s clip)", fmt_s(single)),
        Figure("4 generate all", f"all {SCENES} ready (wall); last submit at", f"{fmt_s(wall)}; {fmt_s(spread)}"),
        Figure("4 generate all", "wall − one clip's time", fmt_s(excess), "≤ 30 s", excess <= 30,
               note="the submit spread is real time (Kie's limit is not compressed)"),
    )
