"""Cancelled clips Kie still makes: Kie has no cancel, so a task it took is still made and paid
for. Cancel keeps it on the scene (lateTasks, by task id); when Kie finishes it, its clip lands
in the scene's History, where the person can still choose it, and the scene's state is left as
it is. Whoever learns the outcome first (its poll loop, a callback, the sweep) lands it: the
entry is removed by a write conditional on it still being there, and only that winner writes
History, so a clip lands exactly once. A task that fails, or outlives the generation deadline,
leaves a "failed" entry instead."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from ...clients.fetch import FetchRefused
from ...clients.kie import TaskRecord, TaskState
from ...config import settings
from ...dal import projects as storage
from ...dal.history import get_history
from ...dal.projects import get_projects
from ...models.domain import LateTask, Scene, SceneSlot
from ..media import clip_key, copy_from_url
from .settle import ClipCopyFailed, Settled

logger = Logger(child=True)

LANDED_NOTE = "Finished after it was cancelled: Kie.ai made it anyway, so it is here to use."


def late_task(scene: Scene, task_id: str | None, generation: int) -> LateTask | None:
    """The cancelled task this loop turn or callback is about, if the scene still waits for it."""
    task = scene.lateTasks.get(task_id or "")
    return task if task and task.generation == generation else None


def as_sent(scene: Scene, task: LateTask) -> Scene:
    """The scene as it was when the task was sent: its key, its clock (waits, the deadline), its loop."""
    return scene.model_copy(update={"keyOwner": task.keyOwner, "startedAt": task.startedAt,
                                    "generation": task.generation, "pollExecution": task.loop})


def overdue(task: LateTask, now: float) -> bool:
    return now - task.startedAt > settings().generation_deadline_s


def land(slot: SceneSlot, task_id: str, record: TaskRecord) -> Settled:
    """A cancelled task's outcome: PENDING while Kie works on it, else FINISHED (landed in
    History, or given up). Raises ClipCopyFailed when the clip could not be copied yet."""
    if record.state == TaskState.GENERATING:
        return Settled.PENDING
    if record.state == TaskState.FAILED:
        give_up(slot, task_id, record.user_message)
        return Settled.FINISHED
    if not record.result_urls:
        give_up(slot, task_id, "Kie.ai finished this cancelled clip but returned no video.")
        return Settled.FINISHED
    key = clip_key(slot.owner, slot.project_id, slot.scene.sceneId, task_id)
    try:
        copy_from_url(record.result_urls[0], key)  # the same key whoever copies: a second copy is harmless
    except FetchRefused as exc:
        give_up(slot, task_id, f"Kie.ai's clip could not be fetched safely: {exc.message}")
        return Settled.FINISHED
    except Exception as exc:  # noqa: BLE001 - any other copy failure: the entry stays, try again
        raise ClipCopyFailed(str(exc)) from exc
    task = slot.scene.lateTasks[task_id]
    if _forget(slot, task_id):
        # A task kept without its prompt (the project's bound, cancel.kept_late): History's
        # entry falls back to the scene's prompt when the clip is chosen.
        entry = get_history().record(
            slot.project_id, slot.scene.sceneId, "clip", taskId=task_id, videoKey=key, prompt=task.prompt or None,
            promptSource=task.promptSource, seed=task.seed, styleVersion=task.styleVersion, note=LANDED_NOTE,
            shot=task.shot, shots=task.shots, start=task.start, end=task.end,
        )
        if entry is None:  # History was not written: the task goes back, for its next look to land it
            _keep_again(slot, task_id, task)
            raise ClipCopyFailed("the landed clip's History entry was not written")
    return Settled.FINISHED


def give_up(slot: SceneSlot, task_id: str, message: str) -> None:
    """No clip will come of this cancelled task: History says so, once."""
    if _forget(slot, task_id):
        task = slot.scene.lateTasks[task_id]
        get_history().record(slot.project_id, slot.scene.sceneId, "failed", taskId=task_id, prompt=task.prompt,
                             error=message, note="It had been cancelled: no clip of it will come.")


def give_up_overdue(slot: SceneSlot, task_id: str) -> None:
    minutes = round(settings().generation_deadline_s / 60)
    give_up(slot, task_id, f"Kie.ai did not finish this cancelled clip within {minutes} minutes.")


def _forget(slot: SceneSlot, task_id: str) -> bool:
    """Remove the task from the scene's lateTasks; False when someone else did first."""
    field = f"lateTasks.{task_id}"
    try:
        get_projects().update_scene(slot.project_id, slot.index, slot.scene.sceneId, {field: None}, owner=None,
                                    present=(field,))
    except storage.StaleScene:
        logger.info("cancelled task landed by someone else", extra={"projectId": slot.project_id, "taskId": task_id})
        return False
    return True


def _keep_again(slot: SceneSlot, task_id: str, task: LateTask) -> None:
    """Put a forgotten task back (unless someone did already); the write keeps the sweep's flag."""
    field = f"lateTasks.{task_id}"
    try:
        get_projects().update_scene(slot.project_id, slot.index, slot.scene.sceneId,
                                    {field: task.model_dump(mode="json", exclude_none=True)}, owner=None,
                                    expect={field: None})
    except storage.StaleScene:
        logger.info("cancelled task kept again by someone else", extra={"projectId": slot.project_id})
    except Exception:  # noqa: BLE001 - its clip is in the bucket already, under its task id
        logger.exception("cancelled task not kept again: its clip is in the bucket but not in History",
                         extra={"projectId": slot.project_id, "sceneId": slot.scene.sceneId, "taskId": task_id})
