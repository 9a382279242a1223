"""`.venv/bin/python -m bench [--compression 5] [--batch 20] [--only detection,generate-all,api,page,cold-start,export,render,sweep,polling]`

Starts the whole local stack in this process (random ports), measures, prints a table and
writes bench/RESULTS.md. About 9 minutes at the default compression."""

from __future__ import annotations

import argparse
import sys
import time

from . import (api_load, baseline, cold_start, detection, export, flow, generate_all, kie_calls, page, render, report,
               sweep, transitions)
from .common import Context, InvocationTimer, Scale, log, start_stack

PARTS = ["detection", "generate-all", "api", "page", "cold-start", "export", "render", "sweep", "polling"]
# Parts that need no stack: on moto in this process, in a subprocess, or computed.
STACKLESS = {"cold-start", "export", "render", "sweep", "polling"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--compression", type=float, default=5.0,
                        help="divide generation times and the poll loop's waits by this (default 5: 60-180 s → 12-36 s;"
                             " above 5 the 1 s Step Functions minimum distorts poll-only timing)")
    parser.add_argument("--batch", type=int, default=20, help="clips per detection batch (default 20)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    ctx = Context(scale=Scale(args.compression), batch=args.batch)
    if float(ctx.scale.env()["POLL_MIN_WAIT_S"]) < 1:
        log(f"warning: at {args.compression:g}× the shortest poll wait falls under Step Functions' 1 s minimum; "
            "short waits are rounded up, so poll-only timing is distorted")
    ctx.notes += [
        "Local stack, not AWS: every handler runs in this one Python process (one GIL on the machine's cores), "
        "DynamoDB/S3/Step Functions are moto; API latencies under concurrency measure that, not Lambda's scaling.",
        "Detection overhead is read from a watcher of the project's DynamoDB item every 50 ms (in-process, "
        "without moto's lock), against the emulator's completeTime; resolution ≈ 50 ms.",
        "Lambda durations are the in-process handler times (against moto on loopback), billed ms rounded up, 512 MB.",
        "State transitions = StateEntered events in each execution's history (Wait, Task, Choice, Succeed/Fail).",
        "Cold start = import of functions/<name>/app.py in a fresh `python -S` with only the function, the layer "
        "(pip install --target of layers/common/requirements.txt, plus broll_common) and the runtime's boto3 on "
        "the path; interpreter start-up and Lambda's own init are not included.",
        "Other processes on the machine (e.g. test runs) share the CPU: see the load average.",
    ]
    began = time.monotonic()
    if set(parts) - STACKLESS:
        log("starting the local stack")
        ctx.stack = start_stack(ctx.scale)
        ctx.data["timer"] = InvocationTimer(ctx.stack)
        try:
            if "detection" in parts:
                flow.run(ctx)
                baseline.run(ctx)
                for measurement in (detection, kie_calls, transitions):
                    measurement.run(ctx)
            if "generate-all" in parts:
                generate_all.run(ctx)
            if "api" in parts:
                if "flow" not in ctx.data and "generate_all" not in ctx.data:
                    flow.run(ctx)  # the load needs a project with finished clips
                api_load.run(ctx)
            if "page" in parts:
                page.run(ctx)
        finally:
            ctx.stack.stop()
    if "cold-start" in parts:
        cold_start.run(ctx)
    if "export" in parts:
        export.run(ctx)
    if "render" in parts:
        render.run(ctx)  # 1080x1920 at 30 s and 60 s: a few minutes on 2 cores
    if "sweep" in parts:
        sweep.run(ctx)  # 10,000 idle projects on moto: about a minute
    if "polling" in parts:
        kie_calls.schedules(ctx)
    elapsed = time.monotonic() - began
    if args.no_write:
        print(report.text_table(report.table(ctx)))
    else:
        print(report.write(ctx, elapsed, parts))
        log("wrote bench/RESULTS.md")
    print("\n".join(report.scaling_lines(ctx)))
    log(f"done in {elapsed / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
