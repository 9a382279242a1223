"""The poll loop's turn (poll_step), a callback's confirmation, and the sweep that repairs
scenes whose loop died (a queued one gets a new loop) or whose callback was lost. Each of them
also lands a cancelled task's clip in History when Kie finishes it (late.py)."""

from __future__ import annotations

import random
import time

from aws_lambda_powertools import Logger

from .. import callback_health
from ..callbacks import callback_base_url
from ...clients import secrets
from ...clients.breaker import KieCalls, KieCircuitOpen
from ...clients.kie import KieError, KieRateLimited, KieRejected, KieUnavailable, TaskRecord
from ...config import settings
from ...dal.projects import GeneratingScene, get_projects
from ...models.domain import LateTask, Scene, SceneSlot, SceneStatus
from ...models.errors import NotFound
from . import late
from .executions import (
    _done, _elapsed, _loop_alive, _next_turn, _poll_schedule, _start_poll_loop, poll_wait, whole_seconds,
)
from .settle import UNKNOWN_OUTCOME, ClipCopyFailed, Settled, _fail, _is_current, failure_reason, settle
from .submit import _kie, _submit_turn, adopt

logger = Logger(child=True)

# A claimed scene with no task id after this long lost its submit (a crash mid-request).
SUBMIT_GRACE_S = 120


def _overdue(scene: Scene, now: float) -> str | None:
    """The sentence for a scene past its time, or None. A submitted clip's clock starts at
    its submit; a queued one (Generate All, waiting for a submit slot) is allowed longer,
    since nothing is charged until it is submitted."""
    if scene.taskId:
        limit = settings().generation_deadline_s
        message = "Kie.ai did not finish this clip within {m} minutes. Retry to try again."
    else:
        limit = settings().queue_deadline_s
        message = "Kie.ai stayed too busy to take this clip for {m} minutes; nothing was charged. Retry to try again."
    return message.format(m=round(limit / 60)) if now - (scene.startedAt or 0) > limit else None


def poll_step(state: dict) -> dict:
    """One turn of the state machine's loop: ask Kie, settle or plan the next wait."""
    project_id, task_id, generation = state["projectId"], state["taskId"], int(state["generation"])
    attempt = int(state.get("attempt", 0)) + 1
    try:
        owner_id, index, scene = get_projects().load_scene(project_id, int(state.get("sceneIndex", 0)), state["sceneId"])
    except NotFound:
        # Deleted meanwhile: only a cancelled clip's loop outlives its project (generating blocks a delete).
        return _done(state, attempt)
    slot = SceneSlot(project_id, index, scene, owner_id)
    cancelled = late.late_task(scene, task_id, generation)
    if cancelled:
        return _late_turn(slot, task_id, cancelled, state, attempt)
    if _handed_on(scene, task_id, generation):  # the last turn's submit could not write its task id
        adopted = adopt(slot, task_id)
        if adopted is None:
            return _next_turn(state, attempt, 1)  # moved on meanwhile: the task was kept as a cancelled one
        slot, scene = adopted, adopted.scene
    if not _is_current(scene, task_id, generation):
        return _done(state, attempt)  # settled by a callback, cancelled or regenerated meanwhile
    overdue = _overdue(scene, time.time())
    if overdue:
        _fail(slot, overdue, "timeout")
        return _done(state, attempt)
    trusted = task_id is not None and callback_health.trusted(since=scene.startedAt or 0)
    if _poll_schedule().awaiting_callback(_elapsed(scene), trusted):
        # Callbacks have arrived since this clip was sent: its own will settle it. Look only
        # at the grace, as the safety net (no Kie call now).
        return _next_turn(state, attempt, poll_wait(attempt, scene, callbacks=True))
    try:
        kie, key = _kie(owner_id, scene)
    except secrets.NoKieKey as exc:
        _fail(slot, exc.message, "no_key")
        return _done(state, attempt)
    if task_id is None:
        return _submit_turn(slot, state, attempt, kie, key)
    try:
        task = _look(kie, task_id, state, attempt, scene, trusted)
    except KieRejected as exc:
        _fail(slot, exc.user_message, failure_reason(exc))
        return _done(state, attempt)
    if isinstance(task, dict):
        return task
    try:
        outcome = settle(slot, task)
        if outcome is not Settled.PENDING and callback_base_url():
            callback_health.callback_missed()  # we found it first: its callback did not come
        if outcome is Settled.SUBMIT_NEXT:
            return _next_turn(state | {"taskId": None}, attempt, 1)  # the next turn submits it
        if outcome is Settled.FINISHED:
            return _done(state, attempt)
    except ClipCopyFailed:
        logger.warning("clip copy failed, retrying next turn", extra={"projectId": project_id, "sceneId": scene.sceneId})
    return _next_turn(state, attempt, poll_wait(attempt, scene, trusted))


def _handed_on(scene: Scene, task_id: str | None, generation: int) -> bool:
    """The turn's task id is the one its marked submit got, not yet on the scene (see adopt)."""
    waits = scene.status == SceneStatus.GENERATING and scene.generation == generation and scene.taskId is None
    return bool(task_id) and waits and scene.submittingAt is not None


def _look(kie: KieCalls, task_id: str, state: dict, attempt: int, scene: Scene, trusted: bool) -> TaskRecord | dict:
    """Kie's record of the task, or the loop's next turn when Kie cannot answer now (down, busy,
    its circuit open: then not before its retry time). Raises KieRejected."""
    try:
        return kie.record_info(task_id)
    except KieCircuitOpen as exc:
        return _next_turn(state, attempt, max(poll_wait(attempt, scene, trusted), exc.retry_at - time.time()))
    except (KieUnavailable, KieRateLimited):
        return _next_turn(state, attempt, poll_wait(attempt, scene, trusted))


def _late_turn(slot: SceneSlot, task_id: str, task: LateTask, state: dict, attempt: int) -> dict:
    """A turn for a cancelled task Kie may still finish: the same waits and deadline as when it
    was the scene's own, but its outcome lands in History and the scene is left as it is."""
    sent = late.as_sent(slot.scene, task)
    if late.overdue(task, time.time()):
        late.give_up_overdue(slot, task_id)
        return _done(state, attempt)
    trusted = callback_health.trusted(since=task.startedAt)
    if _poll_schedule().awaiting_callback(_elapsed(sent), trusted):
        return _next_turn(state, attempt, poll_wait(attempt, sent, callbacks=True))
    try:
        kie, _ = _kie(slot.owner, sent)
        record = _look(kie, task_id, state, attempt, sent, trusted)
        if isinstance(record, dict):
            return record
        if late.land(slot, task_id, record) is Settled.FINISHED:
            return _done(state, attempt)
    except secrets.NoKieKey as exc:
        late.give_up(slot, task_id, exc.message)
        return _done(state, attempt)
    except KieRejected as exc:
        late.give_up(slot, task_id, exc.user_message)
        return _done(state, attempt)
    except ClipCopyFailed:
        logger.warning("cancelled clip's copy failed, retrying next turn", extra={"taskId": task_id})
    return _next_turn(state, attempt, poll_wait(attempt, sent, trusted))


def confirm_callback(project_id: str, scene_id: str, generation: int, task_id: str) -> bool:
    """A Kie callback is only a hint: confirm with record-info, then settle. The caller has
    checked the URL's signature, so this acts as the system, not as a user."""
    record = get_projects().load_broll(project_id, owner=None)
    index, scene = record.scene(scene_id)
    slot = SceneSlot(project_id, index, scene, record.owner_id)
    cancelled = late.late_task(scene, task_id, generation)
    if cancelled:  # Kie finished a task cancelled since: it lands in History
        kie, _ = _kie(record.owner_id, late.as_sent(scene, cancelled))
        return late.land(slot, task_id, kie.record_info(task_id)) is not Settled.PENDING
    if not _is_current(scene, task_id, generation):
        return False
    kie, _ = _kie(record.owner_id, scene)
    outcome = settle(slot, kie.record_info(task_id), via="callback")
    if outcome is Settled.SUBMIT_NEXT:
        # This scene's loop is watching the settled task and will stop; a new one submits.
        _start_poll_loop(slot.with_scene(scene.model_copy(update={"taskId": None})), submit=True, restart=True)
    return outcome is not Settled.PENDING


def sweep(now: float | None = None, *, scenes: list[GeneratingScene] | None = None) -> dict:
    """Repair scenes stuck in `generating`: a poll loop that died (or never started), a lost
    callback, a submit whose outcome never arrived, or a clip past the overall deadline.
    `queued` counts the generating scenes with no task yet (the queue's depth). Cancelled tasks
    whose loop is gone are looked at too; those that finished count as `settled`.
    `scenes`: the sweep's work as already read (logic/sweep.py reads once for this and the
    schedules); else read here."""
    now = now or time.time()
    counts = {"checked": 0, "settled": 0, "restarted": 0, "failed": 0, "queued": 0}
    if scenes is None:
        scenes = get_projects().sweep_work().generating
    for project_id, owner_id, index, scene in scenes:
        slot = SceneSlot(project_id, index, scene, owner_id)
        counts["settled"] += _sweep_late(slot, now)
        if scene.status != SceneStatus.GENERATING:
            continue  # only its cancelled tasks were due
        counts["checked"] += 1
        age = now - (scene.startedAt or 0)
        overdue = _overdue(scene, now)
        if overdue:
            _fail(slot, overdue, "timeout")
            counts["failed"] += 1
        elif not scene.taskId:
            counts["queued"] += 1
            # Within the grace a new loop may not have started yet: a second one would submit twice.
            if age <= SUBMIT_GRACE_S or _loop_alive(project_id, scene) or _submit_may_run(scene, now):
                continue
            if (scene.queued or scene.waiting) and scene.submittingAt is None:
                # Waiting for its loop's submit, never sent, nothing charged: a new loop takes it on.
                _start_poll_loop(slot, attempt=1, submit=True, first_wait=_restart_wait(scene, now), restart=True)
                counts["restarted"] += 1
            else:  # a submit whose request died with its Lambda (its mark left, or a one-scene one): Kie may have it
                _fail(slot, UNKNOWN_OUTCOME, "timeout")
                counts["failed"] += 1
        elif not _loop_alive(project_id, scene):
            try:
                kie, _ = _kie(owner_id, scene)
                outcome = settle(slot, kie.record_info(scene.taskId), via="sweep")
                if outcome is Settled.FINISHED:
                    counts["settled"] += 1
                    continue
                if outcome is Settled.SUBMIT_NEXT:
                    scene = scene.model_copy(update={"taskId": None})
            except (KieError, ClipCopyFailed, secrets.NoKieKey) as exc:
                logger.warning("sweep could not settle the scene", extra={"error": str(exc)})
            _start_poll_loop(slot.with_scene(scene), attempt=1, restart=True)
            counts["restarted"] += 1
    return counts


def _submit_may_run(scene: Scene, now: float) -> bool:
    """A submit marked on the scene may still be under way: less time ago than Kie's timeout and a
    turn's other work (the grace)."""
    return scene.submittingAt is not None and now - scene.submittingAt <= settings().kie_timeout_s + SUBMIT_GRACE_S


def _sweep_late(slot: SceneSlot, now: float) -> int:
    """Look at the scene's cancelled tasks whose loop is gone, every sweep until the deadline (no
    new loop: a repair's few minutes' delay is fine for a clip nobody waits for). How many finished."""
    finished = 0
    for task_id, task in slot.scene.lateTasks.items():
        sent = late.as_sent(slot.scene, task)
        if _loop_alive(slot.project_id, sent):
            continue
        if late.overdue(task, now):
            late.give_up_overdue(slot, task_id)
            finished += 1
            continue
        try:
            kie, _ = _kie(slot.owner, sent)
            finished += late.land(slot, task_id, kie.record_info(task_id)) is Settled.FINISHED
        except KieRejected as exc:
            late.give_up(slot, task_id, exc.user_message)
            finished += 1
        except (KieError, ClipCopyFailed, secrets.NoKieKey) as exc:
            logger.warning("sweep could not look at a cancelled task", extra={"taskId": task_id, "error": str(exc)})
    return finished


def _restart_wait(scene: Scene, now: float) -> int:
    """A restarted queued loop's first wait: its next try as planned, spread a little (the
    sweep restarts many at once after an outage)."""
    planned = scene.waiting.nextTryAt if scene.waiting and scene.waiting.nextTryAt else now
    return whole_seconds(max(0.0, planned - now) + random.uniform(1, 5))
