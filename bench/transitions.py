"""3. Step Functions state transitions per clip (StateEntered events in the executions'
histories: AWS bills every state entered) and their cost at Standard prices, beside the
poll function's Lambda GB-seconds per clip (in-process invocations timed × 512 MB)."""

from __future__ import annotations

import math

from .common import (LAMBDA_MB, LAMBDA_USD_PER_GB_S_ARM, LAMBDA_USD_PER_REQUEST, SFN_USD_PER_TRANSITION, Context,
                     Figure)

POLL_FUNCTION = "PollSchedulerFunction"


def transitions(history: list[dict]) -> int:
    return sum(1 for e in history if e["type"].endswith("StateEntered"))


def run(ctx: Context) -> None:
    timer = ctx.data["timer"]
    out = {}
    for mode, batch in ctx.data["flow"].items():
        clips = max(1, len(batch["tasks"]))
        entered = sum(transitions(h) for h in batch["histories"].values())
        per_clip = entered / clips
        invocations = [d for e, _, d in timer.of(POLL_FUNCTION) if e.get("projectId") == batch["project_id"]]
        billed_ms = sum(math.ceil(d * 1000) for d in invocations)
        gb_s = billed_ms / 1000 * LAMBDA_MB / 1024 / clips
        callbacks = [d for e, _, d in timer.of("KieCallbackFunction")
                     if (e.get("queryStringParameters") or {}).get("projectId") == batch["project_id"]]
        cb_gb_s = sum(math.ceil(d * 1000) for d in callbacks) / 1000 * LAMBDA_MB / 1024 / clips
        mean_ms = 1000 * sum(invocations) / len(invocations) if invocations else 0.0
        out[mode] = {"transitions_per_clip": per_clip, "poll_invocations_per_clip": len(invocations) / clips,
                     "poll_gb_s_per_clip": gb_s, "callback_gb_s_per_clip": cb_gb_s, "poll_mean_ms": mean_ms}
        sfn_cost = per_clip * 1000 * SFN_USD_PER_TRANSITION
        lam_cost = 1000 * (gb_s * LAMBDA_USD_PER_GB_S_ARM + len(invocations) / clips * LAMBDA_USD_PER_REQUEST)
        ctx.add(
            Figure("3 step functions", f"{mode}: state transitions per clip ({len(batch['histories'])} executions)",
                   f"{per_clip:.1f}", "≤ 12", per_clip <= 12),
            Figure("3 step functions", f"{mode}: Standard cost per 1,000 clips", f"${sfn_cost:.3f}",
                   note="$0.025 per 1,000 transitions"),
            Figure("3 step functions", f"{mode}: poll Lambda per clip",
                   f"{len(invocations) / clips:.1f} inv × {mean_ms:.0f} ms × 512 MB = {gb_s:.4f} GB-s"
                   f" (${lam_cost:.4f} / 1,000 clips)",
                   note="in-process durations against moto on loopback; arm64 price"),
        )
        if callbacks:
            ctx.add(Figure("3 step functions", f"{mode}: callback Lambda per clip",
                           f"{len(callbacks) / clips:.1f} inv, {cb_gb_s:.4f} GB-s"))
    ctx.data["transitions"] = out
