"""One scheduled sweep: the stuck scenes and the due Generate All batches, from one read of the
sweep index (one query and one BatchGetItem of the flagged items for both)."""

from __future__ import annotations

from ..dal.projects import get_projects
from . import schedule
from .generation import sweep as sweep_scenes


def run() -> dict:
    work = get_projects().sweep_work()
    counts = sweep_scenes(scenes=work.generating)
    # A scene the sweep failed is startable again: a due batch must see it (it is read again
    # then), or a batch whose only scene left was that one would be taken off with nothing started.
    scheduled = work.scheduled if not counts["failed"] else get_projects().sweep_work().scheduled
    return counts | {"batches": schedule.run_due(scheduled)}
