"""One scheduled sweep: the stuck scenes and the due Generate All batches, from one read of the
sweep index (one query and one BatchGetItem of the flagged items for both)."""

from __future__ import annotations

from ..dal.projects import get_projects
from . import schedule
from .generation import sweep as sweep_scenes


def run() -> dict:
    work = get_projects().sweep_work()
    return sweep_scenes(scenes=work.generating) | {"batches": schedule.run_due(projects=work.scheduled)}
