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


# ----- computed: the local stack's two poll schedules (issue 16) ------------------------------------

GENERATIONS_S = (20, 60, 120, 180, 240, 300)
KIE_GUIDANCE_GAP_S = 3  # "status polls a few seconds apart or more"


class _Nominal:
    """No jitter: the planned waits (jitter only shortens them, by 5 % at most)."""

    @staticmethod
    def uniform(low: float, high: float) -> float:
        return low


def _schedule(real_key: bool):
    """The PollSchedule the local stack runs with against the emulator or with a real key, from
    devstack.stack.poll_settings and the config's defaults for what it leaves unset."""
    import os

    from broll_common import config
    from broll_common.logic.backoff import PollSchedule
    from devstack.stack import StackOptions, poll_settings
    from devstack.template import load

    names = ("POLL_FIRST_WAIT_S", "POLL_CALLBACK_GRACE_S", "POLL_MIN_WAIT_S", "POLL_MAX_WAIT_S", "POLL_FACTOR",
             "EXPECTED_GENERATION_S", "GENERATION_DEADLINE_S")
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        os.environ.update(poll_settings(StackOptions(), real_key, load().parameter_defaults))
        config.reset_settings()
        s = config.settings()
        return PollSchedule(first=s.poll_first_wait_s, callback_grace=s.poll_callback_grace_s, factor=s.poll_factor,
                            floor=s.poll_min_wait_s, cap=s.poll_max_wait_s)
    finally:
        for name in names:
            os.environ.pop(name, None)
        os.environ.update(saved)
        config.reset_settings()


def looks(schedule, generation_s: float) -> tuple[int, int, int]:
    """(record-info calls, shortest gap between two, seconds from done to seen) for one clip of
    `generation_s`, polled only (real Kie cannot call back to 127.0.0.1), waits in whole
    seconds as the state machine's Wait takes them."""
    from broll_common.logic.generation.executions import whole_seconds

    at, calls, gaps = 0, 0, []
    while at < generation_s:
        gap = whole_seconds(schedule.wait(calls, at, callbacks=False, rng=_Nominal))
        at, calls = at + gap, calls + 1
        gaps.append(gap)
    return calls, min(gaps[1:] or gaps), at - generation_s


def schedules(ctx: Context) -> None:
    """Computed from the schedule (not a run): record-info calls per clip with the emulator's
    waits and with the real-key (cloud) schedule, at 20 s (the issue's measured run) and 1-5 min."""
    for label, real_key in (("emulator waits (1 s first, 3 s max)", False), ("real key: cloud schedule", True)):
        schedule = _schedule(real_key)
        for generation_s in GENERATIONS_S:
            calls, gap, late = looks(schedule, generation_s)
            ctx.add(Figure("2 kie calls", f"{label}: record-info per clip at {generation_s} s (computed)",
                           f"{calls} calls, polls ≥ {gap} s apart, seen {late} s after done",
                           f"polls ≥ {KIE_GUIDANCE_GAP_S} s apart" if real_key else "",
                           (gap >= KIE_GUIDANCE_GAP_S) if real_key else None,
                           note=f"first {schedule.first:g} s, floor {schedule.floor:g} s, cap {schedule.cap:g} s, "
                                f"×{schedule.factor:g}; no jitter, poll only"))
