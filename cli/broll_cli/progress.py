"""Live progress with rich: one bar per job (a scene's clip, the final render) and a download bar.

On a terminal the bars redraw in place. When stdout is a file or a pipe (CI logs, tests) rich
draws no live display, only the final bars when it stops; so every change of a job's state is
also printed as a plain line, and (off a terminal only) each quarter of progress, so a log shows
what happened and when."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Column
from rich.text import Text

WORKING, DONE, FAILED, IDLE = "working", "done", "failed", "idle"
MILESTONES = (25, 50, 75)


def say(console: Console, text: str, style: str | None = None) -> None:
    """Print text as it is: no markup (titles and errors may hold brackets), no colouring of
    numbers, and no wrapping (a wrapped URL or path cannot be copied)."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


@dataclass
class Job:
    """What a bar shows for one job at one moment."""

    key: str
    title: str
    kind: str  # WORKING | DONE | FAILED | IDLE
    progress: int = 0
    error: str | None = None
    working_label: str = "Generating…"
    done_label: str = "Ready"
    idle_label: str = "Cancelled"

    def label(self) -> str:
        if self.kind == WORKING:
            return self.working_label
        if self.kind == DONE:
            return self.done_label
        if self.kind == FAILED:
            return f"Failed: {self.error or 'no reason given'}"
        return self.idle_label

    def styled(self) -> Text:
        style = {WORKING: "cyan", DONE: "green", FAILED: "red"}.get(self.kind, "yellow")
        return Text(self.label(), style=style)


class _StateColumn(ProgressColumn):
    """The job's state in words (a Text, so an error with brackets is never read as markup)."""

    def render(self, task: Task) -> Text:
        return task.fields.get("state") or Text("")


class JobBoard:
    """One bar per job; call `update(jobs)` after each poll."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TaskProgressColumn(),
            # One line per job: a long failure reason is cut here and printed whole as a line.
            _StateColumn(table_column=Column(no_wrap=True, overflow="ellipsis")),
            TimeElapsedColumn(),
            console=console,
        )
        self._tasks: dict[str, int] = {}
        self._seen: dict[str, tuple[str, int]] = {}  # key -> (kind, last milestone logged)

    def __enter__(self) -> JobBoard:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, jobs: list[Job]) -> None:
        for job in jobs:
            shown = 100 if job.kind == DONE else max(0, min(100, int(job.progress or 0)))
            task = self._tasks.get(job.key)
            if task is None:
                task = self._tasks[job.key] = self.progress.add_task(job.title, total=100)
            self.progress.update(task, completed=shown, state=job.styled())
            if job.kind != WORKING and self._seen.get(job.key, (None, 0))[0] != job.kind:
                self.progress.stop_task(task)  # freezes its elapsed time at the moment it ended
            self._log(job, shown)

    def _log(self, job: Job, shown: int) -> None:
        kind, milestone = self._seen.get(job.key, (None, 0))
        if job.kind != kind:
            say(self.progress.console, f"{job.title}: {job.label()}", self._style(job))
            self._seen[job.key] = (job.kind, milestone)
        elif job.kind == WORKING and not self.console.is_terminal:
            # Off a terminal nothing redraws: a line per quarter shows the work is moving.
            reached = max((m for m in MILESTONES if shown >= m), default=0)
            if reached > milestone:
                say(self.progress.console, f"{job.title}: {job.working_label} {shown} %")
                self._seen[job.key] = (kind, reached)

    @staticmethod
    def _style(job: Job) -> str | None:
        return {DONE: "green", FAILED: "red"}.get(job.kind)


def download_bar(console: Console) -> Progress:
    """A byte-counting bar for a file transfer."""
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
    )


__all__ = ["DONE", "FAILED", "IDLE", "WORKING", "Job", "JobBoard", "download_bar", "say"]
