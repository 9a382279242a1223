"""Scene boundaries on the timeline: nudged by the person, or split again by words when the
voice-over's real length replaces the one the project was imported with."""

from __future__ import annotations

from ..dal import projects as storage
from ..models.api import Project, TimingsRequest
from ..models.domain import MediaStatus, Scene, SceneStatus, SubShot, TimeRange
from ..models.errors import Conflict, InvalidInput
from .timeline import proportional_ranges, ranges_at
from .views import project_view

MIN_SCENE_S = 0.5  # a scene shorter than this cannot carry a cut


def _rescaled(shot: SubShot, old: TimeRange, new: TimeRange) -> SubShot:
    """A sub-shot moved with its scene's range: the same share of it (its clip is kept)."""
    scale = (new.end - new.start) / max(1e-6, old.end - old.start)
    return shot.model_copy(update={"start": round(new.start + (shot.start - old.start) * scale, 3),
                                   "end": round(new.start + (shot.end - old.start) * scale, 3)})


def _write_ranges(record: storage.ProjectRecord, ranges: list[TimeRange], owner: str, source: str) -> None:
    scenes = record.scenes
    if any(s.status == SceneStatus.GENERATING for s in scenes):
        raise Conflict("A scene is generating: change the timings when it has finished, or cancel it first.")
    writes = []
    for index, (scene, new) in enumerate(zip(scenes, ranges)):
        changes: dict = {"timeRange": new.model_dump()}
        if scene.plan:
            changes["plan"] = [_rescaled(shot, scene.timeRange, new).stored() for shot in scene.plan]
        # Nothing may have started generating since the read: the scene's generation says so.
        writes.append(storage.SceneWrite(index, scene.sceneId, changes, generation=scene.generation,
                                         status_in=(SceneStatus.IDLE.value, SceneStatus.COMPLETED.value,
                                                    SceneStatus.FAILED.value)))
    try:
        storage.update_scenes(record.project_id, writes, owner=owner)
    except storage.StaleScene as exc:
        raise Conflict("The scenes changed meanwhile (a generation started?). Reload and try again.") from exc
    storage.update_broll(record.project_id, {"timingsSource": source}, owner=owner)


def set_boundaries(project_id: str, body: TimingsRequest, owner: str) -> Project:
    record = storage.load_project(project_id, owner=owner)
    scenes: list[Scene] = record.scenes
    duration = float(record.audio.audioDurationSec or 0)
    if len(body.boundaries) != len(scenes) - 1:
        raise InvalidInput(f"boundaries: give {len(scenes) - 1} number(s), one between each pair of scenes.")
    edges = [0.0, *body.boundaries, duration]
    for number, (start, end) in enumerate(zip(edges, edges[1:]), start=1):
        if end - start < MIN_SCENE_S:
            raise InvalidInput(
                f"boundaries: scene {number} would last {max(0.0, end - start):.2f} s; every scene needs at least "
                f"{MIN_SCENE_S:g} s, and the boundaries must rise within the voice-over's {duration:.2f} s."
            )
    _write_ranges(record, ranges_at(body.boundaries, duration), owner, "person")
    return project_view(storage.load_project(project_id, owner=owner))


def use_file_duration(project_id: str, owner: str) -> Project:
    """The voice-over file's own length becomes the project's; the word split follows it (the
    person's or stage 4's boundaries are kept, the last scene ending with the file)."""
    record = storage.load_project(project_id, owner=owner)
    state = record.broll.voiceoverMedia
    if state is None or state.status != MediaStatus.READY or state.probe is None:
        raise Conflict("The voice-over file has not been checked yet, so its length is not known.")
    duration = round(float(state.probe.durationSec), 3)
    scenes = record.scenes
    if (record.broll.timingsSource or "words") == "words":
        ranges = proportional_ranges([s.text for s in scenes], duration)
    else:
        boundaries = [s.timeRange.end for s in scenes[:-1]]
        if boundaries and boundaries[-1] >= duration - MIN_SCENE_S:
            raise Conflict(f"The file lasts {duration:.2f} s, which would leave the last scene no time: "
                           "move the boundaries first.")
        ranges = ranges_at(boundaries, duration)
    _write_ranges(record, ranges, owner, record.broll.timingsSource or "words")
    storage.update_step(project_id, storage.STEP_AUDIO, {"audioDurationSec": duration})
    return project_view(storage.load_project(project_id, owner=owner))
