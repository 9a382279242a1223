"""Generating a scene's clip: submit to Kie, the poll step, callbacks, cancel, the sweep.

Whoever learns a task's outcome first (poll step, callback, sweep) settles the scene with
a write conditional on the scene's generation and task; the others find it settled and
do nothing. A deliberate Regenerate/Retry/Cancel bumps the generation, so a late result
for an old task can never overwrite the newer state; a cancelled task's clip still lands in
the scene's History (late.py).

The rooms: claim.py (the idempotency guard), submit.py (submit, retry, rate-limit and breaker
outcomes), settle.py (an outcome applied, the clip copied), executions.py (starting and finding
poll loops, their waits), loop.py (poll_step, callbacks confirmed, the sweep), batch.py
(Generate All), cancel.py, late.py (cancelled tasks Kie still finishes). What the handlers and
other rules call is named here.
"""

from .batch import generate_all, startable
from .cancel import cancel
from .executions import poll_wait, whole_seconds
from .loop import confirm_callback, poll_step, sweep
from .settle import failure_reason
from .submit import start_generation

__all__ = [
    "cancel", "confirm_callback", "failure_reason", "generate_all", "poll_step", "poll_wait", "start_generation",
    "startable", "sweep", "whole_seconds",
]
