"""2. Kie status calls (record-info) per finished clip, from the emulator's own counters."""

from __future__ import annotations

from .common import Context, Figure

TARGETS = {"callbacks": 2, "poll-only": 6}


def per_clip(stats: dict, task_ids) -> tuple[float, int, int, int]:
    counts = [stats["record_info_calls"].get(t, 0) for t in task_ids]
    return (sum(counts) / len(counts) if counts else 0.0), (min(counts) if counts else 0), \
        (max(counts) if counts else 0), len(counts)


def run(ctx: Context) -> None:
    rows = {}
    for mode, batch in ctx.data["flow"].items():
        finished = [batch["tasks"][sid] for sid, st in batch["statuses"].items()
                    if st == "completed" and batch["tasks"].get(sid)]
        rows[mode] = per_clip(batch["stats"], finished)
    base = ctx.data.get("baseline")
    if base:
        rows["baseline-5s"] = per_clip(base["stats"], list(base["seen"]))
    ctx.data["kie_calls"] = rows
    for mode, (mean, low, high, n) in rows.items():
        limit = TARGETS.get(mode)
        target = f"≤ {limit}" if limit else "(12–36 expected)"
        ctx.add(Figure("2 kie calls", f"{mode}: record-info per finished clip, mean [min–max] (n={n})",
                       f"{mean:.1f} [{low}–{high}]", target, (mean <= limit) if limit else None))
