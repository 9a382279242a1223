"""The cut list: where the composite shows the B-roll, and in which frame (pure rules).

The presenter (the avatar video) is the base of the whole composite; a cut puts a clip over
part of it. Per scene, the layout (the project's, or the scene's override) says where:

- cutaway: the presenter first for (1 - share) of the scene, then the B-roll for `share`,
  full frame. The video opens on the presenter: the first scene's presenter part lasts at
  least HOOK_PRESENTER_S (when the scene is long enough), whatever the share. A scene shorter
  than minSceneSec stays on the presenter unless the person gave it an override.
- split / pip: the B-roll over the whole scene, framed "split" (B-roll top, presenter bottom)
  or "pip" (B-roll full frame, the presenter in a corner).
- full: the B-roll over the whole scene, full frame.
- presenter (an override only): no B-roll.

A scene covered by several sub-shots (plan.segments) keeps them in order inside the window the
layout gives the scene, each scaled to its share of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from . import plan
from ..models.domain import LayoutSettings, Scene

Frame = Literal["full", "split", "pip"]
FRAMES: dict[str, Frame] = {"cutaway": "full", "split": "split", "pip": "pip", "full": "full"}
HOOK_PRESENTER_S = 1.0  # the opening seconds always on the presenter (cutaway)


@dataclass(frozen=True)
class Cut:
    start: float  # seconds in the final video
    end: float
    clip_key: str  # our copy of the clip (media bucket)
    frame: Frame


def scene_layout(scene: Scene, settings: LayoutSettings) -> str:
    """The scene's layout: its override, else the project's."""
    return settings.overrides.get(scene.sceneId, settings.layout)


def window(scene: Scene, index: int, settings: LayoutSettings) -> tuple[float, float] | None:
    """The part of the scene's range its B-roll covers (None: the presenter throughout)."""
    start, end = scene.timeRange.start, scene.timeRange.end
    length = end - start
    mode = scene_layout(scene, settings)
    if length <= 0 or mode == "presenter":
        return None
    if mode != "cutaway":
        return start, end
    if length < settings.minSceneSec and scene.sceneId not in settings.overrides:
        return None
    presenter = (1 - settings.share) * length
    if index == 0:
        presenter = max(presenter, min(HOOK_PRESENTER_S, length / 2))
    if length - presenter <= 1e-3:
        return None
    return start + presenter, end


def scene_cuts(scene: Scene, index: int, settings: LayoutSettings) -> list[Cut]:
    segments = plan.segments(scene)
    span = window(scene, index, settings) if segments else None
    if span is None:
        return []
    frame = FRAMES[scene_layout(scene, settings)]
    first, last = segments[0][0], segments[-1][1]
    source = max(1e-6, last - first)
    scale = (span[1] - span[0]) / source
    edges = [round(span[0] + (s - first) * scale, 3) for s, _, _ in segments] + [round(span[1], 3)]
    return [
        Cut(start=edges[i], end=edges[i + 1], clip_key=key, frame=frame)
        for i, (_, _, key) in enumerate(segments)
        if edges[i + 1] > edges[i]
    ]


def cuts(scenes: list[Scene], settings: LayoutSettings) -> list[Cut]:
    """Every cut of the composite, in timeline order (never overlapping)."""
    return [cut for index, scene in enumerate(scenes) for cut in scene_cuts(scene, index, settings)]


def presenter_share(scene: Scene, index: int, settings: LayoutSettings) -> float:
    """How much of the scene shows the presenter full frame (0-1): for the figures and tests."""
    length = scene.timeRange.end - scene.timeRange.start
    if length <= 0:
        return 0.0
    covered = sum(c.end - c.start for c in scene_cuts(scene, index, settings) if c.frame == "full")
    return max(0.0, 1 - covered / length)
