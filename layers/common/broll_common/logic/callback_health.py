"""Whether Kie's callbacks are arriving, shared by every instance (breaker table).

With callbacks working the poll loop is only a safety net and can look rarely. A loop
trusts them on evidence only: a callback has arrived since its own clip was sent, and no
look has found a finished task whose callback never came since then. Without that (the
first clip after a quiet spell, callbacks dropped or never configured) it polls densely,
so a dropped callback costs a share of the generation time, not minutes. The item is dal.coordination's.
"""

from __future__ import annotations

import time

from .callbacks import callback_base_url
from ..dal.coordination import get_coordination


def callback_arrived() -> None:
    get_coordination().mark_callback_arrived(time.time())


def callback_missed() -> None:
    get_coordination().mark_callback_missed(time.time())


def trusted(since: float) -> bool:
    """A callback has arrived since `since` (a clip's submit) and none was missed after it."""
    if not callback_base_url():
        return False
    arrived, missed = get_coordination().callback_times()
    return arrived >= since and arrived >= missed
