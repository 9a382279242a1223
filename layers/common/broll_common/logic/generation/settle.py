"""Settling a scene with its task's outcome, whoever learnt it first (poll step, callback, sweep):
the clip copied into our bucket, the scene completed, its next sub-shot due, a refused prompt
rewritten once, or the scene failed (with its ClipsFailed reason). Every write is conditional on
the scene still waiting for this very task."""

from __future__ import annotations

import time
from enum import Enum

from aws_lambda_powertools import Logger

from .. import plan, policy
from ...clients.fetch import FetchRefused
from ...clients.kie import KieError, KieRejected, KieUnavailable, TaskRecord, TaskState
from ...dal import projects as storage
from ...dal.history import get_history
from ...dal.projects import get_projects
from ..media import clip_key, copy_from_url
from ...models.domain import Scene, SceneSlot, SceneStatus
from ...observability import MetricUnit, emit
from ..views import scene_view
from .cancel import release_unsent

logger = Logger(child=True)

UNKNOWN_OUTCOME = (
    "Kie.ai did not confirm the request in time, so we do not know whether this clip was started. "
    "It was not resubmitted automatically; Retry may charge again."
)


def _submit_failure_message(exc: KieError) -> str:
    # No answer after the request left us: Kie may have started (and charged) the task.
    sent_but_unknown = isinstance(exc, KieUnavailable) and exc.may_have_started
    return UNKNOWN_OUTCOME if sent_but_unknown else exc.user_message


def failure_reason(outcome: KieError | TaskRecord) -> str:
    """The ClipsFailed reason (docs/METRICS.md) of a Kie outcome that fails a scene."""
    if policy.refusal_reason(outcome):
        return "content_policy"  # refused again after its one rewrite, or the rewrite failed
    if isinstance(outcome, KieError) and _submit_failure_message(outcome) == UNKNOWN_OUTCOME:
        return "timeout"
    return "kie_rejected" if isinstance(outcome, KieRejected) else "kie_error"


def _fail(slot: SceneSlot, message: str, reason: str) -> Scene:
    _record_failure(slot, message, reason, {"owner": None, "generation": slot.scene.generation})
    return scene_view(slot.scene.model_copy(update={"status": SceneStatus.FAILED, "error": message, "progress": 0}))


class ClipCopyFailed(Exception):
    """The clip is ready at Kie but not yet in our bucket: the scene stays generating."""


class Settled(Enum):
    PENDING = "pending"  # Kie is still working on it
    FINISHED = "finished"  # the scene is completed or failed (or moved on meanwhile)
    # The scene's next task is to be submitted: its prompt was rewritten once after a
    # content-policy refusal, or its next sub-shot is due.
    SUBMIT_NEXT = "submit_next"


def settle(slot: SceneSlot, record: TaskRecord, via: str = "poll") -> Settled:
    """Apply a task's outcome to its scene; `via`: who learnt it (poll, callback or sweep)."""
    project_id, index, scene = slot.project_id, slot.index, slot.scene
    if record.state == TaskState.GENERATING:
        return Settled.PENDING
    if record.state == TaskState.FAILED:
        if policy.rewrite_if_refused(slot, record):
            _detected(scene, via)
            return Settled.SUBMIT_NEXT
        if _fail_if_current(slot, record.user_message, failure_reason(record)):
            _detected(scene, via)
        return Settled.FINISHED
    if not record.result_urls:
        if _fail_if_current(slot, "Kie.ai finished but returned no video. Retry.", "kie_error"):
            _detected(scene, via)
        return Settled.FINISHED
    task_id = scene.taskId or record.task_id
    key = clip_key(slot.owner, project_id, scene.sceneId, task_id)
    try:
        copy_from_url(record.result_urls[0], key)
    except FetchRefused as exc:  # an address or file the guarded fetch refuses: trying again cannot help
        if _fail_if_current(slot, f"Kie.ai's clip could not be fetched safely: {exc.message} Retry.", "kie_error"):
            _detected(scene, via)
        return Settled.FINISHED
    except Exception as exc:  # noqa: BLE001 - any other copy failure: keep the scene, try again
        emit("ClipCopyFailed", MetricUnit.Count, 1)
        raise ClipCopyFailed(str(exc)) from exc
    changes, sub_shot = _clip_changes(scene, task_id, key)
    try:
        get_projects().update_scene(project_id, index, scene.sceneId, changes, **_still_generating(scene))
    except storage.StaleScene:
        logger.info("result for a superseded generation ignored", extra={"projectId": project_id, "sceneId": scene.sceneId})
        return Settled.FINISHED
    emit("ClipsCompleted", MetricUnit.Count, 1)
    emit("ClipFailurePercent", MetricUnit.Percent, 0)  # its Average is the failure rate (alarmed)
    _detected(scene, via)
    get_history().record(
        project_id, scene.sceneId, "clip", taskId=task_id, videoKey=key, prompt=scene.aiPrompt,
        promptSource=scene.promptSource, shotInstructions=scene.shotInstructions or None, seed=scene.seed,
        styleVersion=scene.styleVersion, **plan.shot_fields(scene, sub_shot),
    )
    more = changes.get("status") != SceneStatus.COMPLETED.value
    return Settled.SUBMIT_NEXT if more else Settled.FINISHED


def _clip_changes(scene: Scene, task_id: str, key: str) -> tuple[dict, int | None]:
    """What a finished clip writes, and the index of the sub-shot it is: the scene completes
    with it, or (a scene of several sub-shots) its next sub-shot is due."""
    done = {"status": SceneStatus.COMPLETED.value, "progress": 100, "error": None}
    index = plan.current(scene)
    if index is None:
        return done | {"videoKey": key}, None
    shots = [shot.model_copy() for shot in scene.plan]
    shots[index].videoKey, shots[index].taskId = key, task_id
    if index + 1 == len(shots):
        return done | {"plan": plan.stored(shots), "videoKey": shots[0].videoKey}, index
    # The next sub-shot's clock (progress, the deadline) starts now; the loop submits it.
    return {"plan": plan.stored(shots), "taskId": None, "startedAt": time.time()} | plan.next_prompt(shots), index


def _still_generating(scene: Scene) -> dict:
    """The scene is still waiting for this very task (a rewrite may have replaced it)."""
    return {
        "owner": None, "generation": scene.generation, "status_in": (SceneStatus.GENERATING.value,),
        "expect": {"taskId": scene.taskId},
    }


def _detected(scene: Scene, via: str) -> None:
    """A task's outcome was applied by `via`: how long after the clip's submit (its startedAt)."""
    emit("DetectionDelay", MetricUnit.Seconds, max(0.0, time.time() - (scene.startedAt or time.time())), Path=via)


def _fail_if_current(slot: SceneSlot, message: str, reason: str) -> bool:
    return _record_failure(slot, message, reason, _still_generating(slot.scene))


def _record_failure(slot: SceneSlot, message: str, reason: str, guard: dict) -> bool:
    """Fail the scene (True), unless it moved on meanwhile (False); `reason`: ClipsFailed's."""
    project_id, index, scene = slot.project_id, slot.index, slot.scene
    changes = {
        "status": SceneStatus.FAILED.value, "error": message, "progress": 0, "waiting": None, "submittingAt": None,
    }
    try:
        get_projects().update_scene(project_id, index, scene.sceneId, changes, **guard)
    except storage.StaleScene:
        logger.info("result for a superseded generation ignored", extra={"projectId": project_id, "sceneId": scene.sceneId})
        return False
    emit("ClipsFailed", MetricUnit.Count, 1, Reason=reason)
    emit("ClipFailurePercent", MetricUnit.Percent, 100)
    get_history().record(project_id, scene.sceneId, "failed", error=message, taskId=scene.taskId, prompt=scene.aiPrompt)
    # The rest of its claim never goes (best effort: the failure is written).
    # A queued scene past its queue deadline was never sent; one with its submit marked may have been.
    sent = bool(scene.taskId) or scene.submittingAt is not None or (reason == "timeout" and not scene.queued)
    release_unsent(slot, sent=sent)
    return True


def _is_current(scene: Scene, task_id: str, generation: int) -> bool:
    return scene.status == SceneStatus.GENERATING and scene.taskId == task_id and scene.generation == generation
