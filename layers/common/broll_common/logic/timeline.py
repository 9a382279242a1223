"""Scene time ranges: stage 4's timings when it has them, else proportional to words."""

from __future__ import annotations

import re

from ..models.api import EditedScene, SceneTiming
from ..models.domain import TimeRange

_SCENE_TYPES = {"hook": "hook", "intro": "hook", "main": "main", "body": "main", "cta": "cta", "outro": "cta"}


def clock(seconds: float) -> str:
    whole = int(seconds + 1e-6)
    return f"{whole // 60}:{whole % 60:02d}"


def time_range(start: float, end: float) -> TimeRange:
    return TimeRange(start=round(start, 2), end=round(end, 2), label=f"{clock(start)}–{clock(end)}")


def scene_type(scene: EditedScene) -> str:
    if scene.sceneType:
        return scene.sceneType
    return _SCENE_TYPES.get(scene.sceneTitle.strip().lower(), "other")


def scene_id(scene: EditedScene, index: int, taken: set[str]) -> str:
    if scene.sceneId:
        return scene.sceneId
    base = re.sub(r"[^a-z0-9]+", "-", scene.sceneTitle.lower()).strip("-")[:30] or "scene"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def proportional_ranges(texts: list[str], duration: float) -> list[TimeRange]:
    words = [max(1, len(t.split())) for t in texts]
    total = sum(words)
    ranges, start = [], 0.0
    for count in words:
        end = start + duration * count / total
        ranges.append(time_range(start, end))
        start = end
    return ranges


def timings_cover(ids: list[str], timings: list[SceneTiming] | None) -> bool:
    """Stage 4's timings name every scene (else the words' share is used)."""
    named = {t.sceneId for t in timings or []}
    return bool(timings) and all(i in named for i in ids)


def ranges_for(ids: list[str], texts: list[str], duration: float, timings: list[SceneTiming] | None) -> list[TimeRange]:
    if timings_cover(ids, timings):
        by_id = {t.sceneId: t for t in timings}
        return [time_range(by_id[i].start, min(by_id[i].end, duration)) for i in ids]
    return proportional_ranges(texts, duration)


def ranges_at(boundaries: list[float], duration: float) -> list[TimeRange]:
    """The scenes' ranges with the person's boundaries between them (the first starts at 0,
    the last ends with the voice-over)."""
    edges = [0.0, *boundaries, duration]
    return [time_range(start, end) for start, end in zip(edges, edges[1:])]
