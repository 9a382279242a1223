"""1. Detection overhead: from the emulator finishing a task (its record's completeTime) to
the scene reading `completed` in DynamoDB (watched every 50 ms), with callbacks, with
callbacks dropped (the poll loop alone), and for the naive 5 s record-info client."""

from __future__ import annotations

from .common import Context, Figure, fmt_s, pct


def overheads(records: dict, seen_at: dict) -> list[tuple[float, float]]:
    """(overhead s, generation s) per successful task; seen_at maps task id -> epoch s."""
    rows = []
    for task_id, record in records.items():
        if record.get("successFlag") == 1 and seen_at.get(task_id) and record.get("completeTime"):
            done = record["completeTime"] / 1000
            rows.append((seen_at[task_id] - done, done - record["createTime"] / 1000))
    return rows


def run(ctx: Context) -> None:
    f = ctx.scale.factor
    modes = {}
    for mode, batch in ctx.data["flow"].items():
        seen = {batch["tasks"][sid]: at for sid, at in batch["flips"].items() if batch["tasks"].get(sid)}
        modes[mode] = overheads(batch["records"], seen)
    base = ctx.data.get("baseline")
    if base:
        modes["baseline-5s"] = overheads(base["records"], base["seen"])
    ctx.data["detection"] = modes
    targets = {"callbacks": ("p95 ≤ 1 s", 1.0), "poll-only": ("p95 ≤ 15 % of generation", None), "baseline-5s": ("", None)}
    for mode, batch in ctx.data["flow"].items():
        done = sum(1 for st in batch["statuses"].values() if st == "completed")
        ctx.add(Figure("1 detection", f"{mode}: clips completed / submitted", f"{done} / {ctx.batch}",
                       note="; ".join(e["submitError"][:120] for e in batch["submit_errors"])))
    for mode, rows in modes.items():
        over = [o for o, _ in rows]
        share = [o / g for o, g in rows if g > 0]
        p50, p95 = pct(over, 50), pct(over, 95)
        s50, s95 = pct(share, 50), pct(share, 95)
        label, limit = targets[mode]
        scaled = mode != "callbacks"  # a callback's latency is not compressed; a poll wait is
        real = f" (≈ {p50 * f:.1f} / {p95 * f:.1f} s at 1×)" if scaled and p95 is not None else ""
        ctx.add(Figure(
            "1 detection", f"{mode}: overhead p50 / p95 (n={len(rows)})", f"{fmt_s(p50)} / {fmt_s(p95)}{real}",
            label if limit else "", (p95 is not None and p95 <= limit) if limit else None))
        if share:
            met = (s95 <= 0.15) if mode == "poll-only" else None
            ctx.add(Figure("1 detection", f"{mode}: overhead as % of generation p50 / p95",
                           f"{s50 * 100:.1f} % / {s95 * 100:.1f} %", "p95 ≤ 15 %" if mode == "poll-only" else "", met))
