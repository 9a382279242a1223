"""Scene-length planning: how B-roll clips cover a scene's time range.

A Veo clip lasts about 8 s. A scene up to SINGLE_CLIP_MAX_S long gets one clip, trimmed (or
gently slowed) to its range; a longer one is covered by ceil(duration / CLIP_S) sub-shots of
equal length, each with its own prompt (a distinct moment of the same scene), cut in one
after another. The person may choose the number (1 = one clip for the whole scene) and write
any sub-shot's prompt.

A scene's sub-shots are generated one after another, not side by side: exactly one Kie task
is in flight per scene, so every outcome is still settled by a write conditional on that one
task (never paying twice, never losing a clip), and a failure stops the scene before its
remaining sub-shots are paid for. Retry then goes on from the first sub-shot without a clip.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

from ..dal import projects as storage
from . import style
from ..models.domain import MAX_SUB_SHOTS, Scene, SceneStatus, SubShot

CLIP_S = 8.0  # what veo3_fast makes
SINGLE_CLIP_MAX_S = 10.0  # one 8 s clip slowed to 0.8x still looks natural; longer needs cuts
MIN_SUB_SHOT_S = 2.0  # shorter cuts flicker past before the eye reads them


def duration(scene: Scene) -> float:
    return max(0.0, scene.timeRange.end - scene.timeRange.start)


def auto_count(seconds: float) -> int:
    if seconds <= SINGLE_CLIP_MAX_S:
        return 1
    return min(MAX_SUB_SHOTS, math.ceil(seconds / CLIP_S - 1e-9))


def max_count(scene: Scene) -> int:
    """The most clips the person may cut the scene into."""
    return max(1, min(MAX_SUB_SHOTS, math.floor(duration(scene) / MIN_SUB_SHOT_S)))


def count_for(scene: Scene) -> int:
    """How many clips the scene's next generation makes."""
    return scene.shotCount or auto_count(duration(scene))


def layout(scene: Scene, count: int) -> list[SubShot]:
    """`count` sub-shots of equal length over the scene's range (none for a single clip)."""
    if count <= 1:
        return []
    start, step = scene.timeRange.start, duration(scene) / count
    edges = [round(start + i * step, 3) for i in range(count)] + [scene.timeRange.end]
    return [SubShot(n=i + 1, start=edges[i], end=edges[i + 1]) for i in range(count)]


def fits(scene: Scene, shots: list[SubShot] | None = None) -> bool:
    """The sub-shots (the stored plan unless given) are the ones the scene's next generation
    would make (count and ranges)."""
    wanted = layout(scene, count_for(scene))
    return [(s.start, s.end) for s in (scene.plan if shots is None else shots)] == [(s.start, s.end) for s in wanted]


def current(scene: Scene) -> int | None:
    """The index of the sub-shot being made (or next to make); None for a single-clip scene."""
    for index, shot in enumerate(scene.plan):
        if not shot.videoKey:
            return index
    return None


def shot_fields(scene: Scene, index: int | None) -> dict:
    """History's note of which sub-shot an entry is about (nothing for a single clip)."""
    if index is None:
        return {}
    shot = scene.plan[index]
    return {"shot": shot.n, "shots": len(scene.plan), "start": shot.start, "end": shot.end}


def shot_of(scene: Scene) -> tuple[int, int] | None:
    """(n, count) of the sub-shot the scene's prompt is for, for the prompt writers."""
    index = current(scene)
    return (index + 1, len(scene.plan)) if index is not None else None


def has_clips(scene: Scene) -> bool:
    """Every sub-shot has its clip (a completed scene's B-roll is its sub-shots, not one clip)."""
    return bool(scene.plan) and all(shot.videoKey for shot in scene.plan)


def clips_to_make(scene: Scene) -> int:
    """Clips (Kie tasks, credits) the scene's next generation needs: a scene that failed part
    way keeps its finished sub-shots when its plan still fits."""
    if scene.status != SceneStatus.COMPLETED and scene.plan and fits(scene):
        return sum(1 for shot in scene.plan if not shot.videoKey)
    return count_for(scene)


def segments(scene: Scene) -> list[tuple[float, float, str]]:
    """(start, end, clip key) of what the scene's finished B-roll is made of, in order."""
    if scene.status != SceneStatus.COMPLETED:
        return []
    if has_clips(scene):
        return [(shot.start, shot.end, shot.videoKey) for shot in scene.plan]
    return [(scene.timeRange.start, scene.timeRange.end, scene.videoKey)] if scene.videoKey else []


def stored(shots: list[SubShot]) -> list[dict]:
    return [shot.stored() for shot in shots]


def prepared(
    record: storage.ProjectRecord, scene: Scene, *, for_generation: bool, write: bool = True
) -> list[SubShot]:
    """The scene's sub-shots, every one with a prompt: the stored plan when it still fits,
    else a new layout. For a generation, a scene that did not complete keeps its finished
    sub-shots (made in the current style) and only missing or stale prompts are written
    (a person's own are kept); else (the person asked for prompts) every prompt is written
    again and the clips stay. Raises PromptError.

    With write=False (a Generate All claim) the prompts to write are left empty instead:
    the scene's poll loop writes them just before it submits (with_missing_prompts)."""
    count = count_for(scene)
    shots = [shot.model_copy() for shot in scene.plan] if scene.plan and fits(scene) else layout(scene, count)
    old_style = (scene.styleVersion or "") != style.version(style.style_of(record.broll))
    start_over = for_generation and (scene.status == SceneStatus.COMPLETED or old_style)
    to_write = []
    for shot in shots:
        if start_over:
            shot.videoKey = shot.taskId = None
        stale = shot.promptSource != "person" and old_style and not shot.videoKey
        if not for_generation or not shot.prompt or stale:
            to_write.append(shot)
    if write:
        _write_prompts(record, scene, to_write, count)
    else:
        for shot in to_write:
            shot.prompt, shot.promptSource, shot.promptNote = "", None, None
    return shots


def with_missing_prompts(record: storage.ProjectRecord, scene: Scene) -> list[SubShot]:
    """The scene's stored sub-shots, a prompt written for each that has none (those a
    Generate All claim left to its poll loop). Raises PromptError."""
    shots = [shot.model_copy() for shot in scene.plan]
    _write_prompts(record, scene, [shot for shot in shots if not shot.prompt], len(shots))
    return shots


def _write_prompts(record: storage.ProjectRecord, scene: Scene, shots: list[SubShot], count: int) -> None:
    # Side by side: Claude takes seconds per prompt, and a request has API Gateway's 30 s.
    with ThreadPoolExecutor(max_workers=MAX_SUB_SHOTS) as pool:
        written = pool.map(lambda shot: style.compose(record, scene, (shot.n, count)), shots)
        for shot, composed in zip(shots, written):
            shot.prompt, shot.promptSource, shot.promptNote = composed.text, composed.source, composed.note


def next_prompt(shots: list[SubShot]) -> dict:
    """The scene fields for the sub-shot to make next (the first without a clip, or the
    first of all when every one has a clip)."""
    shot = next((shot for shot in shots if not shot.videoKey), shots[0])
    return {"aiPrompt": shot.prompt, "promptSource": shot.promptSource, "promptNote": shot.promptNote}
