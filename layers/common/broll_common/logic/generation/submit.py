"""Submitting to Kie: within the shared rate limit and through the shared breaker, now (one
scene, the person sees Kie's answer) or on a queued scene's loop turn. A submit Kie did not
take (breaker open, 429, 455, a 5xx, unreachable, or the balance read before it finding Kie
down) queues the scene for its loop, which starts it by itself (nothing was charged); a refusal
rewrites the prompt once; a timeout after the request left us is never resubmitted, nor is a
loop's submit that may have reached Kie before its turn died (submittingAt). Every submit is
marked first, so a cancel can tell it may be at Kie; a task Kie took for a scene cancelled (or
regenerated) meanwhile is paid for, so the scene keeps it as a cancelled task (late.py)."""

from __future__ import annotations

import random
import time
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from .. import ledger, plan, policy, rate_limit
from ..backoff import Backoff
from ..callbacks import callback_base_url
from ...clients import secrets
from ...clients.breaker import KieCalls, KieCircuitOpen, get_kie
from ...clients.kie import KieError, KieRateLimited, KieUnavailable
from ...config import settings
from ...dal import projects as storage
from ...dal.history import get_history
from ...dal.projects import get_projects
from ...models.domain import KieWait, Scene, SceneSlot
from ...models.errors import NotFound
from ...observability import MetricUnit, emit
from ...prompts import PromptError
from ..views import scene_view
from .cancel import kept_late, late_task_of, record_dropped, still_late
from .claim import _claim, _prompts_due, _write_due_prompts
from .executions import _done, _next_turn, _start_poll_loop, poll_wait, retry_backoff, whole_seconds
from .settle import UNKNOWN_OUTCOME, _fail, _still_generating, _submit_failure_message, failure_reason

logger = Logger(child=True)

SUBMIT_RATE_LIMIT_RETRY = Backoff(first=1.0, factor=2.0, cap=8.0)
SUBMIT_ATTEMPTS = 4
# Writing a task id Kie took: a throttled write is tried again, this often, before the loop's next
# turn writes it (adopt); a cancel meanwhile keeps the task as a cancelled one (_keep_late).
TASK_ID_WRITE_RETRY = Backoff(first=0.2, factor=2.0, cap=2.0)
TASK_ID_WRITE_TRIES = 3
KEEP_LATE_TRIES = 3


class NoSubmitSlot(KieRateLimited):
    """Our share of Kie's submit limit stayed full for the whole wait: Kie was not called."""


def _kie(owner_id: str | None, scene: Scene) -> tuple[KieCalls, secrets.KieKey]:
    """The client for the key this scene's clip is paid with (the owner's own, or ours)."""
    key = get_kie().key_for(owner_id, scene.keyOwner)
    return get_kie().client(key.value), key


def _submit(slot: SceneSlot, callback_url: str | None, kie: KieCalls, key: secrets.KieKey) -> str:
    """Submit within the shared rate limit; Kie's own 429 is retried with backoff."""
    for attempt in range(SUBMIT_ATTEMPTS):
        admission = rate_limit.wait_for_slot(key.value)
        if not admission.admitted:
            raise NoSubmitSlot(429, "no submit slot free within the wait")
        try:
            return _send(slot, callback_url, kie, key, admission.slot)
        except KieRateLimited:
            if attempt == SUBMIT_ATTEMPTS - 1:
                raise
            time.sleep(SUBMIT_RATE_LIMIT_RETRY.delay(attempt))
    raise AssertionError("unreachable")


def _send(slot: SceneSlot, callback_url: str | None, kie: KieCalls, key: secrets.KieKey, lane: str) -> str:
    """One submit in a taken rate-limit lane, finished whatever Kie answers. Once Kie has taken the
    task nothing may keep its id from the scene: the lane's finish and the ledger (the clip with
    the price in use, its charge when the balance shows it) are best effort and logged."""
    scene = slot.scene
    try:
        estimate = ledger.price_in_use()
        watch = _balance_before(kie, key, lane, scene)
        task_id = kie.submit(scene.aiPrompt, model=settings().kie_model, callback_url=callback_url, seed=scene.seed)
    finally:
        _finish(key, lane)
    _record_clip(slot, task_id, kie, key, lane, watch, estimate)
    emit("ClipsStarted", MetricUnit.Count, 1)  # Kie took it: one clip started, and charged
    emit("CreditsEstimated", MetricUnit.Count, estimate)
    return task_id


class _BalanceRead:
    """The client as ledger.watch_balance reads the balance through it, keeping why a read found Kie
    unavailable. A balance read starts nothing at Kie: even its timeout leaves nothing sent."""

    def __init__(self, kie: KieCalls):
        self._kie = kie
        self.down: KieUnavailable | None = None

    def credits(self) -> float:
        try:
            return self._kie.credits()
        except KieCircuitOpen as exc:
            self.down = exc
            raise
        except KieUnavailable as exc:
            self.down = KieUnavailable(exc.code, f"balance read before the submit: {exc.detail}")
            raise


def _balance_before(kie: KieCalls, key: secrets.KieKey, lane: str, scene: Scene) -> ledger.BalanceWatch | None:
    """Kie's balance before the submit, for its charge (ledger.watch_balance). A read that finds Kie
    unavailable (or its circuit open) stops the submit, which queues like a refused one: a down Kie
    costs one call per attempt, not two. None, without a read, for a scene that last found Kie down:
    its submit may be the breaker's one half-open probe, which a balance read answered while
    /veo/generate is still down would take, and close the circuit."""
    if scene.waiting is not None and scene.waiting.reason == "kie_down":
        return None
    read = _BalanceRead(kie)
    watch = ledger.watch_balance(read, key, lane)
    if read.down is not None:
        raise read.down
    return watch


def _finish(key: secrets.KieKey, lane: str) -> None:
    try:
        rate_limit.finish(key.value, lane)
    except Exception:  # noqa: BLE001 - an unfinished lane is let go as stale; the submit's outcome matters
        logger.exception("rate-limit lane not finished", extra={"keyLast4": key.last4})


def _record_clip(slot: SceneSlot, task_id: str, kie: KieCalls, key: secrets.KieKey, lane: str,
                 watch: ledger.BalanceWatch | None, estimate: float) -> None:
    """Kie took the task: the clip in the ledger, its charge by the balance when measured. Best
    effort: a ledger that cannot be read or written is logged, and the task id still reaches the scene."""
    where = {"projectId": slot.project_id, "sceneId": slot.scene.sceneId, "taskId": task_id}
    try:
        charged = ledger.measured_charge(kie, key, lane, watch)
    except Exception:  # noqa: BLE001 - the clip is at Kie already
        logger.exception("charge not measured by the balance", extra=where)
        charged = None
    try:
        ledger.clip_submitted(slot, task_id, key, estimate, charged, "balance")
    except Exception:  # noqa: BLE001 - the clip is at Kie already
        logger.exception("clip not recorded in the ledger", extra=where)


def _submitted(project_id: str, scene: Scene, task_id: str) -> None:
    get_history().record(
        project_id, scene.sceneId, "generation", taskId=task_id, prompt=scene.aiPrompt,
        promptSource=scene.promptSource, shotInstructions=scene.shotInstructions or None,
        **plan.shot_fields(scene, plan.current(scene)),
    )


def _callback_url(project_id: str, scene_id: str, generation: int) -> str | None:
    base = callback_base_url()
    if not base:
        return None
    signature = secrets.callback_signature(project_id, scene_id, generation)
    query = {"projectId": project_id, "sceneId": scene_id, "generation": generation, "sig": signature}
    return f"{base}?{urlencode(query)}"


def start_generation(project_id: str, scene_id: str, *, regenerate: bool = False, owner: str) -> Scene:
    """One scene, submitted now: the person sees Kie's answer (or its refusal) at once. When
    Kie takes no work now (see _kie_wait) the scene waits, and its loop submits it later."""
    index, scene, won = _claim(project_id, scene_id, regenerate, owner)
    if not won:
        return scene_view(scene)
    slot = SceneSlot(project_id, index, scene, owner)
    try:
        kie, key = _kie(owner, scene)
    except secrets.NoKieKey as exc:  # the key was removed between the claim and now
        return _fail(slot, exc.message, "no_key")
    try:
        slot = _submitting(slot, time.time())  # a cancel from now on knows Kie may take it
    except storage.StaleScene:  # cancelled since the claim
        return scene_view(get_projects().load_broll(project_id, owner=owner).scene(scene_id)[1])
    scene = slot.scene
    for _ in range(2):  # the second pass only after one rewrite of a refused prompt
        try:
            task_id = _submit(slot, _callback_url(project_id, scene_id, scene.generation), kie, key)
            break
        except KieError as exc:
            logger.warning("kie submit failed", extra={"projectId": project_id, "sceneId": scene_id, "code": exc.code})
            wait = _kie_wait(exc, None, attempt=0)
            if wait:  # queued, not failed: nothing was charged
                waiting = _wait_for_kie(slot, wait)
                first_wait = whole_seconds(wait.nextTryAt - time.time())
                _start_poll_loop(slot.with_scene(waiting), submit=True, first_wait=first_wait)
                return scene_view(waiting)
            rewritten = policy.rewrite_if_refused(slot, exc)
            if rewritten is None:
                return _not_taken(slot, exc)
            scene = rewritten
            slot = slot.with_scene(scene)
    submitted, current = _task_taken(slot, task_id, {"taskId": task_id, "submittingAt": None})
    _start_poll_loop(slot.with_scene(submitted))  # it watches the task (a kept one lands in History)
    return scene_view(current)


def _not_taken(slot: SceneSlot, exc: KieError) -> Scene:
    """Fail the scene for a submit that will not be sent again. Kie's own answer (a refusal) means
    nothing of it is at Kie: the scene is failed as unmarked, and its hold released in full; an
    unknown outcome (a timeout) stays marked, so the hold keeps the clip's share."""
    reason = failure_reason(exc)
    if reason != "timeout":
        slot = slot.with_scene(slot.scene.model_copy(update={"submittingAt": None}))
    return _fail(slot, _submit_failure_message(exc), reason)


def _kie_wait(exc: KieError, before: KieWait | None, attempt: int) -> KieWait | None:
    """Why a submit Kie did not take waits, and its next try; None when it cannot wait: Kie
    refused the request itself, or the outcome is unknown (the request left us and no verdict
    came back, so Kie may have started and charged the task: never sent again blindly).
    `since` keeps the first time this scene found Kie down or busy."""
    now = time.time()
    if isinstance(exc, KieCircuitOpen):
        reason, seen, wait = "kie_down", exc.opened_at or now, _circuit_wait(exc, attempt)
    elif isinstance(exc, NoSubmitSlot):
        reason, seen, wait = "busy", now, SUBMIT_RATE_LIMIT_RETRY.delay(attempt)
    elif isinstance(exc, KieRateLimited):
        reason, seen, wait = "rate_limited", now, SUBMIT_RATE_LIMIT_RETRY.delay(attempt)
    elif isinstance(exc, KieUnavailable) and not exc.may_have_started:
        reason, seen, wait = "kie_down", now, retry_backoff().delay(attempt)
    else:
        return None
    since = min(before.since, seen) if before else seen
    return KieWait(reason=reason, since=since, nextTryAt=now + whole_seconds(wait))


def _circuit_wait(exc: KieCircuitOpen, attempt: int) -> float:
    """Until the cool-down ends, plus jitter: the first loop to wake is the one probe the
    breaker lets through, and the others find its answer (closed: they submit; reopened:
    they wait out the next cool-down), so Kie gets one call per cool-down however many
    scenes wait. A cool-down already over means a probe is under way: look again shortly."""
    ahead = exc.retry_at - time.time()
    if ahead <= 0:
        return retry_backoff().delay(attempt)
    # At least a second: the Wait state's whole seconds never wake a loop before retry_at.
    return ahead + random.uniform(1, max(2.0, settings().breaker_recovery_timeout_s / 5))


def _wait_for_kie(slot: SceneSlot, wait: KieWait) -> Scene:
    """The scene waits for Kie, nothing charged, for its loop to try again at wait.nextTryAt.
    Written only while the scene still waits for this submit (StaleScene otherwise); a
    scene that starts waiting counts once in SubmitsQueued."""
    project_id, index, scene = slot.project_id, slot.index, slot.scene
    changes = {"queued": True, "taskId": None, "error": None, "waiting": wait.model_dump(), "submittingAt": None}
    get_projects().update_scene(project_id, index, scene.sceneId, changes, **_still_generating(scene))
    if scene.waiting is None:
        emit("SubmitsQueued", MetricUnit.Count, 1, Reason=wait.reason)
    return scene.model_copy(update=changes | {"waiting": wait})


def _submitting(slot: SceneSlot, at: float | None) -> SceneSlot:
    """Mark (at) or unmark (None) the scene's submit, while it still waits for it (StaleScene
    otherwise): the slot with the scene as marked."""
    scene = slot.scene
    changes = {"submittingAt": at}
    get_projects().update_scene(slot.project_id, slot.index, scene.sceneId, changes, **_still_generating(scene))
    return slot.with_scene(scene.model_copy(update=changes))


def _write_task_id(slot: SceneSlot, changes: dict) -> None:
    """The submitted task's id onto the scene of its generation; a failing write (a throttle) is
    tried again with backoff. Raises StaleScene (the scene moved on), or the last failure."""
    for attempt in range(TASK_ID_WRITE_TRIES):
        try:
            get_projects().update_scene(slot.project_id, slot.index, slot.scene.sceneId, changes, owner=None,
                                        generation=slot.scene.generation)
            return
        except storage.StaleScene:
            raise
        except Exception:  # noqa: BLE001 - retried; the last one is raised
            if attempt == TASK_ID_WRITE_TRIES - 1:
                raise
            logger.warning("task id write failed, trying again", extra={"projectId": slot.project_id})
            time.sleep(TASK_ID_WRITE_RETRY.delay(attempt))


def _task_taken(slot: SceneSlot, task_id: str, changes: dict) -> tuple[Scene, Scene]:
    """Kie took the task: its id onto the scene (`changes`), and its History entry. (The scene as
    submitted, the scene as it is now: kept as a cancelled task when it was cancelled or regenerated
    meanwhile, as it is paid for.) A write that keeps failing is left to the loop's next turn
    (adopt). Raises StaleScene when the scene moved on and the task could not be kept."""
    submitted = current = slot.scene.model_copy(update=changes)
    try:
        _write_task_id(slot, changes)
    except storage.StaleScene:
        current = _keep_late(slot, submitted, task_id)
        if current is None:
            raise
    except Exception:  # noqa: BLE001 - Kie has the task: the loop's next turn writes the id (adopt)
        logger.exception("task id not written; the poll loop's next turn writes it",
                         extra={"projectId": slot.project_id, "sceneId": slot.scene.sceneId})
    _submitted(slot.project_id, submitted, task_id)
    return submitted, current


def _keep_late(slot: SceneSlot, sent: Scene, task_id: str) -> Scene | None:
    """Kie took the task of a scene cancelled (or regenerated) meanwhile: it is paid for, so the
    scene keeps it as a cancelled task (lateTasks, late.py) and its clip lands in History. The scene
    as written, or None when it is gone or did not move on (its generation is the submit's)."""
    task = late_task_of(slot.project_id, sent)
    where = {"projectId": slot.project_id, "sceneId": sent.sceneId, "taskId": task_id[-4:]}
    for _ in range(KEEP_LATE_TRIES):
        try:
            record = get_projects().load_broll(slot.project_id, owner=None)
            index, now = record.scene(sent.sceneId)
        except NotFound:
            break
        if now.generation <= sent.generation:
            break
        kept = kept_late(record.scenes, now, task_id, task)
        changes = {"lateTasks": kept.late}
        try:
            get_projects().update_scene(slot.project_id, index, now.sceneId, changes, owner=None,
                                        generation=now.generation, **still_late(now))
        except storage.StaleScene:
            continue  # moved on again, or one of its cancelled tasks landed: read it again
        record_dropped(slot.project_id, now.sceneId, kept)
        logger.info("task taken by Kie after its scene was cancelled: kept", extra=where)
        return storage.with_changes(now, changes)
    logger.error("task taken by Kie after its scene moved on was not kept", extra=where)
    return None


def adopt(slot: SceneSlot, task_id: str) -> SceneSlot | None:
    """A turn whose submit's task-id write failed handed the id on (state.taskId, the mark still on
    the scene): write it now. None when the scene moved on meanwhile (the task is then kept as a
    cancelled one, for the next turn)."""
    scene = slot.scene
    changes = {"taskId": task_id, "startedAt": scene.submittingAt, "waiting": None, "submittingAt": None}
    adopted = scene.model_copy(update=changes)
    try:
        get_projects().update_scene(slot.project_id, slot.index, scene.sceneId, changes, **_still_generating(scene))
    except storage.StaleScene:
        _keep_late(slot, adopted, task_id)
        return None
    return slot.with_scene(adopted)


def _submit_turn(slot: SceneSlot, state: dict, attempt: int, kie: KieCalls, key: secrets.KieKey) -> dict:
    """A queued scene's turn: submit if the shared rate limit has a slot, else wait for one.

    First, once, the prompts its claim left to write (before taking a slot, which Claude's
    seconds would otherwise hold); a prompt that cannot be written fails the scene with why.
    A full window only lengthens the wait; Kie's busy answers (429, an open breaker, 455,
    a 5xx) also say on the scene why it waits (KieWait), until the queue deadline (the
    poll step's _overdue); a refusal fails the scene with what to change; a timeout is never
    resubmitted. The submit is marked on the scene first (submittingAt, cleared by the write of
    its task id or of its wait): a turn that finds the mark left by one that died mid-submit (the
    state machine retries a failed step) fails the scene as an unknown outcome, never sends again.
    """
    project_id, scene = slot.project_id, slot.scene
    if scene.submittingAt is not None:
        _fail(slot, UNKNOWN_OUTCOME, "timeout")
        return _done(state, attempt)
    if _prompts_due(scene):
        try:
            scene = _write_due_prompts(slot)
            slot = slot.with_scene(scene)
        except PromptError as exc:
            _fail(slot, exc.message, "prompt_error")
            return _done(state, attempt)
        except storage.StaleScene:
            return _done(state, attempt)  # cancelled or regenerated while the prompt was written
    admission = rate_limit.try_admit(key.value)
    if not admission.admitted:
        # Waiting loops spread over the lanes' expected free times: all asking again when the
        # first lane frees would take one lane and cost every other loop a turn.
        return _next_turn(state, attempt, random.choice(admission.free_in) + random.uniform(0, 1))
    try:
        slot = _submitting(slot, time.time())
    except BaseException as exc:
        _finish(key, admission.slot)  # nothing was sent: the lane is free again
        if isinstance(exc, storage.StaleScene):
            return _done(state, attempt)  # cancelled or regenerated meanwhile
        raise
    scene = slot.scene
    try:
        task_id = _send(slot, _callback_url(project_id, scene.sceneId, scene.generation), kie, key, admission.slot)
    except KieError as exc:
        wait = _kie_wait(exc, scene.waiting, attempt)
        if wait:
            try:
                _wait_for_kie(slot, wait)
            except storage.StaleScene:
                return _done(state, attempt)  # cancelled or regenerated meanwhile
            return _next_turn(state, attempt, wait.nextTryAt - time.time())
        rewritten = policy.rewrite_if_refused(slot, exc)
        if rewritten:
            try:
                _submitting(slot.with_scene(rewritten), None)  # nothing at Kie: the next turn may send
            except storage.StaleScene:
                return _done(state, attempt)
            return _next_turn(state, attempt, 1)  # the next turn submits the rewritten prompt
        _not_taken(slot, exc)
        return _done(state, attempt)
    # The clip's clock (progress, the overall deadline) starts at its submit, not in the queue.
    changes = {"taskId": task_id, "startedAt": time.time(), "waiting": None, "submittingAt": None}
    try:
        submitted, _ = _task_taken(slot, task_id, changes)
    except storage.StaleScene:
        return _done(state, attempt)
    # The next turn watches it: the scene's own task, or (kept) a cancelled one (the late turn).
    return _next_turn(state | {"taskId": task_id}, 0, poll_wait(0, submitted))
