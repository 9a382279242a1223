"""The table on stdout and bench/RESULTS.md: machine, settings, every figure beside its target."""

from __future__ import annotations

import os
import platform
import subprocess
import time

from .common import BENCH, ROOT, Context


def machine() -> dict:
    memory = "?"
    try:
        with open("/proc/meminfo") as handle:
            kb = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
            memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        commit += " (+ uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    return {
        "nproc": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": commit,
        "load average (1/5/15 min) at the end": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def table(ctx: Context) -> list[list[str]]:
    return [[f.section, f.name, f.value, f.target, f.verdict] for f in ctx.figures]


def text_table(rows: list[list[str]]) -> str:
    header = ["part", "figure", "measured", "target", ""]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def scaling_lines(ctx: Context) -> list[str]:
    f = ctx.scale.factor
    env = ctx.scale.env()
    settings = ", ".join(f"{k} {v}" for k, v in env.items() if k.startswith(("POLL_", "EXPECTED_")))
    real, compressed = ctx.scale.poll_looks()
    return [
        f"Time compression {f:g}×: generation 60–180 s → {ctx.scale.gen_min_s:g}–{ctx.scale.gen_max_s:g} s "
        f"(uniform); the product's poll settings divided by {f:g}: {settings}; "
        f"baseline polls every {ctx.scale.baseline_interval_s:g} s. "
        "Not compressed: Kie's submit limit (20 per 10 s), callback and request latencies.",
        "Step Functions waits are whole seconds. Poll-only looks at a 120 s clip (real seconds, no jitter): "
        f"real schedule {real}; compressed run, scaled back {compressed}.",
    ]


def write(ctx: Context, elapsed: float, parts: list[str], path=None) -> str:
    info = machine()
    rows = table(ctx)
    missed = [f for f in ctx.figures if f.met is False]
    md = [
        "# B-Roll Studio benchmark results",
        "",
        "Produced by `.venv/bin/python -m bench` "
        f"(`--compression {ctx.scale.factor:g} --batch {ctx.batch}`; parts: {', '.join(parts)}), "
        f"run time {elapsed / 60:.1f} min. Measurements on the local stack (moto + in-process handlers + "
        "moto's Step Functions interpreter + the Kie emulator), not AWS.",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "## Settings",
        "",
        *scaling_lines(ctx),
        "",
        "## Figures",
        "",
        "| part | figure | measured | target | verdict | note |",
        "|---|---|---|---|---|---|",
        *[f"| {f.section} | {f.name} | {f.value} | {f.target} | {f.verdict} | {f.note} |" for f in ctx.figures],
        "",
        "## Missed targets",
        "",
        *([f"- {f.section}: {f.name} = {f.value} (target {f.target})" for f in missed] or ["- none"]),
        "",
    ]
    if ctx.notes:
        md += ["## Notes", "", *[f"- {n}" for n in ctx.notes], ""]
    (path or BENCH / "RESULTS.md").write_text("\n".join(md))
    return text_table(rows)
