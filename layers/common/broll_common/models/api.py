# Over 250 lines: every request body and view docs/API.md describes, one class each, in one place.
"""What the API takes and returns: request bodies (strict: an unknown field is refused), the project,
scene, history, render, download and estimate views, and the small answers."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, StringConstraints, model_validator

from .domain import (
    MAX_SUB_SHOTS,
    CaptionSettings,
    DownloadStatus,
    Ident,
    LayoutSettings,
    PromptText,
    RenderStatus,
    Scene,
    SceneStatus,
    ShortText,
    ShotInstructions,
    Strict,
    StyleLock,
)


class MediaView(BaseModel):
    """The voice-over's or the avatar's file on its way in, and what the probe found in it."""

    status: Literal["fetching", "probing", "ready", "failed"]
    error: str | None = None
    source: Literal["upload", "url"] = "upload"
    sourceUrl: str | None = None
    durationSec: float | None = None
    width: int | None = None
    height: int | None = None
    aspect: str | None = None  # "9:16"
    hasAudio: bool | None = None
    hasVideo: bool | None = None
    sizeBytes: int | None = None
    canRetry: bool = False  # failed, and trying the same source again can help (a URL; an upload still kept)
    # The voice-over only: the file's length minus the project's, when they differ by over 0.5 s.
    durationMismatchSec: float | None = None


class AudioInfo(BaseModel):
    url: str | None = None
    durationSec: float
    media: MediaView | None = None


class VideoInfo(BaseModel):
    url: str | None = None
    media: MediaView | None = None


class Step7(BaseModel):
    status: Literal["in_progress", "completed"] = "in_progress"
    completedAt: str | None = None
    reopenedAt: str | None = None
    scenesWithClips: list[str] = []


class StyleBody(Strict):
    look: ShortText = ""
    colour: ShortText = ""
    lens: ShortText = ""
    era: ShortText = ""
    seed: Annotated[int, Field(ge=10000, le=99999)] | None = None  # Kie's Veo seed range


class HistoryItem(BaseModel):
    """One entry of a scene's history (newest first); `videoUrl` for entries with a clip."""

    id: int
    at: str
    kind: Literal["prompt", "generation", "clip", "failed", "rewrite", "cancelled", "selected"]
    prompt: str | None = None
    promptSource: str | None = None
    shotInstructions: str | None = None
    taskId: str | None = None
    error: str | None = None
    fromPrompt: str | None = None
    reason: str | None = None
    note: str | None = None
    videoUrl: str | None = None
    shot: int | None = None  # sub-shot `shot` of `shots`, for a scene covered by several clips
    shots: int | None = None
    current: bool = False  # this entry's clip is the scene's clip now


class SceneHistory(BaseModel):
    sceneId: str
    entries: list[HistoryItem]


class SelectClip(Strict):
    entryId: Annotated[int, Field(ge=0)]


class RenderChecks(BaseModel):
    """The render's self-check of its output: what was measured, and what failed (sentences;
    empty when it passed)."""

    durationSec: float
    width: int
    height: int
    loudnessLufs: float | None = None
    truePeakDbtp: float | None = None
    problems: list[str] = []


class RenderView(BaseModel):
    """The composite video: the avatar with every scene's clip cut in as the project's layout says."""

    status: RenderStatus = RenderStatus.IDLE
    progress: int = 0
    error: str | None = None
    videoUrl: str | None = None
    # True when clips changed since this render: render again to include them.
    outOfDate: bool = False
    startedAt: str | None = None
    completedAt: str | None = None
    # The self-check's figures: when completed, or failed by the self-check.
    checks: RenderChecks | None = None
    posterUrl: str | None = None  # the composite's first frame (JPEG), when completed


class RenderAnswer(BaseModel):
    render: RenderView


class ScheduleView(BaseModel):
    """A Generate All queued for later, run by the scheduled sweep."""

    at: str | None = None
    whenCreditsAllow: bool = False
    maxClips: int | None = None
    note: str | None = None  # why it has not run yet, e.g. waiting for credits


class PriceView(BaseModel):
    """Credits per clip: the configured price, the mean Kie actually charged, and the one used."""

    configured: float
    measured: float | None = None
    samples: int = 0
    used: float


class QuotaView(BaseModel):
    """A system-key user's daily credit quota (own-key users have none)."""

    dailyCredits: float
    usedToday: float
    left: float
    resetsAt: str  # ISO UTC midnight


class Spend(BaseModel):
    """What a project's (or a user's) clips were estimated at and charged."""

    clips: int = 0
    estimatedCredits: float = 0
    chargedCredits: float = 0
    chargedClips: int = 0  # clips whose charge is known


class Project(BaseModel):
    projectId: str
    name: str
    script: str
    audio: AudioInfo
    avatarVideo: VideoInfo
    scenes: list[Scene]
    step7: Step7
    render: RenderView = RenderView()
    schedule: ScheduleView | None = None
    style: StyleLock = StyleLock()
    # Where the scenes' time ranges came from: stage 4's timings, the words' share, the person.
    timingsSource: Literal["stage4", "words", "person"] = "words"
    # How the composite cuts the B-roll in and its captions (defaults filled).
    layout: LayoutSettings = LayoutSettings()
    spend: Spend = Spend()
    quota: QuotaView | None = None


class ProjectSummary(BaseModel):
    projectId: str
    name: str
    step7Status: str
    sceneCount: int = 0
    clipsReady: int = 0
    updatedAt: str | None = None
    thumbnailUrl: str | None = None  # a video: the first ready clip, else the avatar
    media: Literal["ready", "fetching", "failed", "missing"] = "missing"


class EditedScene(Strict):
    sceneId: Ident | None = None
    sceneTitle: ShortText = Field(min_length=1)
    sceneType: Literal["hook", "main", "cta", "other"] | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class Stage3(Strict):
    editedScenes: list[EditedScene] = Field(min_length=1, max_length=60)


# Seconds on the timeline: real numbers (not booleans), stored to the millisecond (DynamoDB
# cannot hold magnitudes like 5e-324).
Seconds = Annotated[float, Field(strict=True, ge=0, le=3600), AfterValidator(lambda v: round(v, 3))]


class SceneTiming(Strict):
    sceneId: Ident
    start: Seconds
    end: Seconds

    @model_validator(mode="after")
    def _ends_after_start(self) -> "SceneTiming":
        if self.end <= self.start:
            raise ValueError("a scene must end after it starts")
        return self


class WordTiming(Strict):
    """One spoken word of the voice-over and when it is said (the captions' timing)."""

    word: Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
    start: Seconds
    end: Seconds

    @model_validator(mode="after")
    def _ends_after_start(self) -> "WordTiming":
        if self.end < self.start:
            raise ValueError("a word must not end before it starts")
        return self


class Stage4(Strict):
    audioUrl: Annotated[str, StringConstraints(max_length=2000)] | None = None
    audioKey: Annotated[str, StringConstraints(max_length=500)] | None = None
    audioDurationSec: Annotated[float, Field(strict=True, ge=0.5, le=3600), AfterValidator(lambda v: round(v, 3))]
    sceneTimings: list[SceneTiming] | None = None
    wordTimings: Annotated[list[WordTiming], Field(max_length=20000)] | None = None

    @model_validator(mode="after")
    def _words_in_order(self) -> "Stage4":
        words = self.wordTimings or []
        if any(b.start < a.start for a, b in zip(words, words[1:])):
            raise ValueError("wordTimings must be in spoken order (each word starts at or after the one before)")
        return self


class Stage5(Strict):
    avatarVideoUrl: Annotated[str, StringConstraints(max_length=2000)] | None = None
    avatarVideoKey: Annotated[str, StringConstraints(max_length=500)] | None = None


class ProjectImport(Strict):
    projectId: Ident | None = None
    name: ShortText = Field(min_length=1)
    stage3: Stage3
    stage4: Stage4
    stage5: Stage5 = Stage5()


class ProjectRename(Strict):
    name: ShortText = Field(min_length=1)


class DuplicateRequest(Strict):
    name: ShortText | None = Field(default=None, min_length=1)


class DeleteAnswer(BaseModel):
    deleted: str
    mediaObjects: int


MediaKind = Literal["voiceover", "avatar"]


class UploadRequest(Strict):
    kind: MediaKind
    contentType: Annotated[str, StringConstraints(max_length=100)]
    size: Annotated[int, Field(strict=True, ge=1)]


class UploadForm(BaseModel):
    """A presigned S3 POST: send every field, then the file as `file`, to url."""

    url: str
    fields: dict[str, str]
    key: str
    maxBytes: int


class MediaSource(Strict):
    """Where the file comes from: an upload's key, a URL to fetch, or neither (try the last one again)."""

    key: Annotated[str, StringConstraints(max_length=500)] | None = None
    url: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "MediaSource":
        if self.key and self.url:
            raise ValueError("give a key or a url, not both")
        return self


class TimingsRequest(Strict):
    """The scene boundaries: one number per boundary between two scenes, in seconds."""

    boundaries: list[Seconds] = Field(max_length=59)


LayoutChoice = Literal["cutaway", "split", "pip", "full"]


class CaptionBody(Strict):
    """The captions' settings to change (a field left out keeps its value)."""

    enabled: bool | None = None
    position: Literal["lower", "centre"] | None = None
    size: Literal["small", "medium", "large"] | None = None
    highlight: bool | None = None


class LayoutBody(Strict):
    """The project's layout settings to change (a field left out keeps its value; `overrides`
    given replaces them all: sceneId -> a layout or "presenter")."""

    layout: LayoutChoice | None = None
    share: Annotated[float, Field(strict=True, ge=0.2, le=1.0)] | None = None
    minSceneSec: Annotated[float, Field(strict=True, ge=0, le=30)] | None = None
    overrides: Annotated[dict[Ident, Literal["cutaway", "split", "pip", "full", "presenter"]],
                         Field(max_length=60)] | None = None
    captions: CaptionBody | None = None


class SceneEdit(Strict):
    shotInstructions: ShotInstructions | None = None
    aiPrompt: PromptText | None = None


class PlanEdit(Strict):
    """How a scene is covered: `count` clips (1 = one clip trimmed to fit; null = from the
    scene's length), and the person's own prompt for any sub-shot (null keeps the one it has)."""

    count: Annotated[int, Field(ge=1, le=MAX_SUB_SHOTS)] | None = None
    auto: bool = False  # back to the count the scene's length gives
    prompts: Annotated[list[PromptText | None], Field(max_length=MAX_SUB_SHOTS)] | None = None

    @model_validator(mode="after")
    def _one_count(self) -> "PlanEdit":
        if self.auto and self.count is not None:
            raise ValueError("Give either a count or auto, not both.")
        if self.count is None and not self.auto and self.prompts is None:
            raise ValueError("Give a count, auto or prompts.")
        return self


class SceneRef(Strict):
    sceneId: Ident


class GenerateRequest(Strict):
    sceneId: Ident
    regenerate: bool = False


class EmptyBody(Strict):
    pass


ClipCount = Annotated[int, Field(ge=1, le=60)]


class GenerateAllRequest(Strict):
    """Optional budget caps for one batch: no more clips start once either is reached."""

    maxClips: ClipCount | None = None
    maxCredits: Annotated[float, Field(gt=0, le=1_000_000)] | None = None


class ScheduleRequest(Strict):
    """Run Generate All at `at` (UTC, within 30 days), or as soon as credits allow, or both."""

    at: AwareDatetime | None = None
    whenCreditsAllow: bool = False
    maxClips: ClipCount | None = None

    @model_validator(mode="after")
    def _when(self) -> "ScheduleRequest":
        if self.at is None and not self.whenCreditsAllow:
            raise ValueError("Give a time ('at') or set whenCreditsAllow, or both.")
        if self.at is not None:
            ahead = (self.at - datetime.now(timezone.utc)).total_seconds()
            if ahead < -60 or ahead > 30 * 86400:
                raise ValueError("'at' must be in the next 30 days.")
        return self


class Estimate(BaseModel):
    """What Generate All would start now and its cost in Kie credits."""

    scenes: int = 0
    clips: int
    creditsPerClip: float
    estimatedCredits: float
    price: PriceView | None = None
    # Own key: Kie's balance; system key: the daily quota left (never the system account's balance).
    remainingCredits: float | None = None
    remainingSource: Literal["kie_balance", "daily_quota"] | None = None
    startableClips: int = 0  # what the remaining credits cover (whole scenes, timeline order)
    startableScenes: int = 0
    sceneClips: list[int] = []  # each scene's clips, in timeline order: caps start whole scenes of these
    note: str | None = None  # why remainingCredits is unknown, or that the batch is capped


class KieKeyBody(Strict):
    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{16,200}$")]


class KeyInfo(BaseModel):
    """What the API ever shows of a key: whether it is set and its last 4 characters."""

    set: bool
    last4: str | None = None
    updatedAt: str | None = None


class TaskStatus(BaseModel):
    projectId: str
    sceneId: str
    taskId: str
    status: SceneStatus
    progress: int
    videoUrl: str | None
    error: str | None


class ProjectList(BaseModel):
    projects: list[ProjectSummary]


class DownloadView(BaseModel):
    """Download All: the ZIP's presigned URL once it is made of the project's current content
    (200), or how its build in the background stands (202 while building)."""

    status: DownloadStatus = DownloadStatus.READY
    url: str | None = None  # presigned, when ready
    progress: int = 0  # estimated while building
    error: str | None = None  # a plain sentence, when the build failed
    startedAt: str | None = None


class CallbackAck(BaseModel):
    ok: bool
    settled: bool


class ErrorBody(BaseModel):
    """Every error this API answers."""

    error: str
    details: list[dict] | None = None


class GenerateAllResult(BaseModel):
    started: list[Scene]
    skipped: list[dict]
