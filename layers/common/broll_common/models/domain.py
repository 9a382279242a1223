"""The product's own shapes: a scene, its sub-shots and status, a refused prompt's rewrite, the style
lock, render and download states, and the patterns and sizes ids and texts must keep."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
Ident = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
TASK_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
TaskId = Annotated[str, StringConstraints(pattern=TASK_ID_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]
ShotInstructions = Annotated[str, StringConstraints(max_length=2000)]
PromptText = Annotated[str, StringConstraints(max_length=1800)]

# The media a person may bring, per kind: content type -> (the extension our copy is named with,
# the ffmpeg demuxer it is read with). ffmpeg is only ever told a demuxer from here (logic/media_types),
# so a file can never make it pick one that fetches URLs (hls, concat, ...).
MEDIA_TYPES: dict[str, dict[str, tuple[str, str]]] = {
    "voiceover": {
        "audio/mpeg": ("mp3", "mp3"),
        "audio/wav": ("wav", "wav"),
        "audio/x-wav": ("wav", "wav"),
        "audio/wave": ("wav", "wav"),
        "audio/mp4": ("m4a", "mov"),
        "audio/x-m4a": ("m4a", "mov"),
        "audio/aac": ("aac", "aac"),
        "audio/ogg": ("ogg", "ogg"),
        "audio/flac": ("flac", "flac"),
    },
    "avatar": {
        "video/mp4": ("mp4", "mov"),
        "video/quicktime": ("mov", "mov"),
        "video/webm": ("webm", "matroska"),
    },
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SceneStatus(str, Enum):
    IDLE = "idle"
    GENERATING = "generating"
    COMPLETED = "completed"
    FAILED = "failed"


class TimeRange(BaseModel):
    start: float
    end: float
    label: str


class PolicyRewrite(BaseModel):
    """Kie refused the prompt for content policy; it was rewritten once, automatically."""

    fromPrompt: str
    reason: str
    note: str | None = None
    at: str


class SubShot(BaseModel):
    """One clip of a scene covered by several (see plan.py): its part of the scene's time
    range, its own prompt, and once made its task and clip."""

    n: int  # 1-based, in timeline order
    start: float
    end: float
    prompt: str = ""
    promptSource: Literal["local", "claude", "person"] | None = None
    promptNote: str | None = None
    taskId: str | None = None
    # Shown, not stored: waiting (no clip yet), generating (the scene's task now), ready.
    status: Literal["waiting", "generating", "ready"] = "waiting"
    videoUrl: str | None = None
    videoKey: str | None = Field(default=None, exclude=True)

    def stored(self) -> dict:
        """The stored form: the shown fields without the view-only ones, plus our clip's key."""
        return self.model_dump(mode="json", exclude={"status", "videoUrl"}, exclude_none=True) | (
            {"videoKey": self.videoKey} if self.videoKey else {}
        )


class KieWait(BaseModel):
    """Why a generating scene has not been submitted yet: it starts by itself, nothing charged."""

    reason: Literal["kie_down", "rate_limited", "busy"]  # breaker open, 5xx, 455 or unreachable / Kie's 429 / no submit lane
    since: float  # epoch seconds: when Kie was first seen down (the breaker's opened_at, else the first refusal)
    nextTryAt: float | None = None  # epoch seconds of the next attempt


class LateTask(BaseModel):
    """A task of a cancelled generation that Kie still makes (and charges): when Kie finishes it,
    its clip lands in the scene's History (logic/generation/late.py). What the entry needs."""

    generation: int  # the cancelled generation (its callback URL names it)
    startedAt: float  # its submit: the generation deadline counts from it
    keyOwner: Literal["user", "system"] = "system"
    loop: str  # its poll loop's execution name: the sweep looks only while that loop is gone
    prompt: str = ""
    promptSource: Literal["local", "claude", "person"] | None = None
    seed: int | None = None
    styleVersion: str | None = None
    shot: int | None = None  # a sub-shot's: which of how many, and its part of the scene
    shots: int | None = None
    start: float | None = None
    end: float | None = None


class Scene(BaseModel):
    """One scene's B-roll state, stored in step 7 and returned by the API."""

    sceneId: str
    sceneTitle: str
    sceneType: Literal["hook", "main", "cta", "other"] = "other"
    text: str = ""
    timeRange: TimeRange
    shotInstructions: str = ""
    aiPrompt: str = ""
    promptSource: Literal["local", "claude", "person"] | None = None
    promptNote: str | None = None  # what the prompt writer left out and why (e.g. names Veo cannot show)
    taskId: str | None = None
    generation: int = 0
    status: SceneStatus = SceneStatus.IDLE
    progress: int = 0
    videoUrl: str | None = None
    error: str | None = None
    keyOwner: Literal["user", "system"] = "system"
    keyLast4: str = ""
    rewrite: PolicyRewrite | None = None
    waiting: KieWait | None = None  # queued because of Kie (see KieWait); None otherwise
    # Shown, not stored: the plain sentence of a waiting scene (no clock time: the page adds it in local time).
    statusNote: str | None = None
    # Shown, not stored: the clip is AI-generated (disclosure); it predates the style lock.
    aiGenerated: bool = False
    outOfDate: bool = False
    # The project style the clip (or queued clip) was made with, and its Veo seed.
    styleVersion: str | None = None
    seed: int | None = None
    # Scene-length planning (plan.py): the person's number of clips (None: from the length),
    # and the sub-shots of a scene covered by several clips ([] for one clip, trimmed to fit).
    # While generating, aiPrompt and taskId are those of the sub-shot being made.
    shotCount: int | None = None
    plan: list[SubShot] = []
    # Shown, not stored: how many clips the next generation makes, how many the scene's length
    # gives ("auto"), and the most the person may choose (plan.py holds the rule).
    plannedShots: int = 1
    autoShots: int = 1
    maxShots: int = 1
    # Shown, not stored: how many cancelled clips Kie.ai is still making for this scene (its
    # lateTasks); each lands in the scene's History when done.
    lateClips: int = Field(default=0)
    # Internal (stored, never returned): our copy of the clip, when the task started, its loop.
    videoKey: str | None = Field(default=None, exclude=True)
    startedAt: float | None = Field(default=None, exclude=True)
    pollExecution: str | None = Field(default=None, exclude=True)
    queued: bool = Field(default=False, exclude=True)  # Generate All: its loop submits it
    # Set by a loop turn just before its submit, cleared with the task id or the wait it writes: a
    # scene found with it and no task may be at Kie (the turn died mid-submit), so it is never sent again.
    submittingAt: float | None = Field(default=None, exclude=True)
    lateTasks: dict[str, LateTask] = Field(default_factory=dict, exclude=True)  # by task id; cancelled, still at Kie


class StyleLock(BaseModel):
    """One look for every scene of the project (prompts end with the same style sentence)."""

    look: str = ""
    colour: str = ""
    lens: str = ""
    era: str = ""
    seed: int | None = None


class RenderStatus(str, Enum):
    IDLE = "idle"
    RENDERING = "rendering"
    COMPLETED = "completed"
    FAILED = "failed"


MAX_SUB_SHOTS = 8


class DownloadStatus(str, Enum):
    READY = "ready"
    BUILDING = "building"
    FAILED = "failed"


# The project's stored parts, as dal/ reads them: the fields the code reads, typed; any other
# stored field is kept (extra="allow"), so `stored()` gives back exactly what was read.
Number = int | float  # as stored: an int stays an int (the export's manifest hashes it)


class StoredPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    def stored(self) -> dict:
        """The wire form: the fields that were read or set, nothing defaulted."""
        return self.model_dump(mode="json", exclude_unset=True)


class ProjectMeta(StoredPart):
    """Step 0: the project's own record."""

    name: str | None = None
    ownerId: str | None = None

    def name_or(self, project_id: str) -> str:
        """The project's name; its id when it has none."""
        return self.name if self.name is not None else project_id


class ScriptPart(StoredPart):
    """Step 3: the edited script."""

    script: str = ""


class AudioPart(StoredPart):
    """Step 4: the voice-over."""

    audioKey: str | None = None
    audioUrl: str | None = None
    audioDurationSec: Number | None = None
    # Stage 4's word timings ([{word, start, end}], seconds), when it gave them: the captions' timing.
    wordTimings: list[dict] | None = None


class AvatarPart(StoredPart):
    """Step 5: the avatar video."""

    avatarVideoKey: str | None = None
    avatarVideoUrl: str | None = None


class WorkerJob(StoredPart):
    """Work an asynchronous worker does for a request (a render, a ZIP), one per generation."""

    generation: int = 0
    key: str | None = None
    startedAt: Number = 0
    completedAt: str | None = None
    error: str | None = None

    def progress(self, now: float) -> int:
        """Nothing reports a percentage while the worker runs: estimated from elapsed time, 1-95."""
        return max(1, min(95, int(100 * (now - (self.startedAt or now)) / self.expectedSeconds)))

    def write_guard(self) -> dict:
        """The condition that makes the next generation's write the only one (none before the first)."""
        return {"generation": self.generation} if "generation" in self.model_fields_set else {}


class RenderState(WorkerJob):
    """Step 7's `render` map: one composite render per generation."""

    status: RenderStatus = RenderStatus.IDLE
    material: str | None = None
    expectedSeconds: Number = 60


class ExportState(WorkerJob):
    """Step 7's `export` map: one ZIP build per generation."""

    status: str | None = None  # building, failed, completed
    expectedSeconds: Number = 30
    reported: bool = False


class MediaStatus(str, Enum):
    FETCHING = "fetching"  # copying an outside URL into our folder
    PROBING = "probing"  # an upload landed: checking what it is
    READY = "ready"
    FAILED = "failed"


class MediaFacts(BaseModel):
    """What the probe found in a media file, as stored."""

    demuxer: str
    durationSec: Number
    hasVideo: bool
    hasAudio: bool
    width: int | None = None
    height: int | None = None


class MediaState(WorkerJob):
    """Step 7's `voiceoverMedia` / `avatarMedia` map: the person's file on its way in, one
    fetch-or-probe per generation (`key` is the file being checked, then the one in use)."""

    status: MediaStatus = MediaStatus.READY
    source: Literal["upload", "url"] = "upload"
    sourceUrl: str | None = None
    sizeBytes: int | None = None
    probe: MediaFacts | None = None
    expectedSeconds: Number = 20


class Schedule(StoredPart):
    """Step 7's `schedule` map: a Generate All queued for later."""

    at: str | None = None
    whenCreditsAllow: bool = False
    maxClips: int | None = None
    note: str | None = None


LayoutName = Literal["cutaway", "split", "pip", "full"]


class CaptionSettings(BaseModel):
    """The burned-in captions (logic/captions.py): on or off, where, how big, and whether the
    spoken word is lit (karaoke)."""

    enabled: bool = True
    position: Literal["lower", "centre"] = "lower"  # the lower third, or the middle (split's seam)
    size: Literal["small", "medium", "large"] = "medium"
    highlight: bool = True


class LayoutSettings(StoredPart):
    """Step 7's `layout` map: how the composite cuts the B-roll in (logic/layout.py).

    cutaway: per scene the presenter first, then the B-roll for `share` of the scene; split:
    B-roll top, presenter bottom; pip: B-roll full frame, the presenter in a corner; full: the
    B-roll over the whole scene. `overrides` gives a scene (by id) its own layout, or
    "presenter" (no B-roll)."""

    layout: LayoutName = "cutaway"
    share: float = 0.6  # cutaway: the B-roll's share of each scene, 0.2-1.0
    minSceneSec: float = 2.0  # cutaway: a scene shorter than this stays on the presenter (unless overridden)
    overrides: dict[str, Literal["cutaway", "split", "pip", "full", "presenter"]] = Field(default_factory=dict)
    captions: CaptionSettings = Field(default_factory=CaptionSettings)


class BrollPart(StoredPart):
    """Step 7: the scenes (raw: dal/ parses them) and the project's B-roll state."""

    ownerId: str | None = None
    status: str = "in_progress"
    completedAt: str | None = None
    reopenedAt: str | None = None
    scenesWithClips: list = Field(default_factory=list)
    scenes: list[dict] = Field(default_factory=list)
    style: dict | None = None
    schedule: Schedule | None = None
    render: RenderState | None = None
    export: ExportState | None = None
    layout: LayoutSettings | None = None
    voiceoverMedia: MediaState | None = None
    avatarMedia: MediaState | None = None
    updatedAt: str | None = None  # set by every write of this item (dal/)
    timingsSource: Literal["stage4", "words", "person"] | None = None


@dataclass(frozen=True)
class SceneSlot:
    """One scene at its place in its project: what the generation rules pass along."""

    project_id: str
    index: int
    scene: Scene
    owner: str | None = None  # whose project: its media folder (a settled clip is stored there)

    def with_scene(self, scene: Scene) -> SceneSlot:
        return replace(self, scene=scene)
