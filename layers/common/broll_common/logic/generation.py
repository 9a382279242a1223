"""Generating a scene's clip: submit to Kie, the poll step, callbacks, cancel, the sweep.

Whoever learns a task's outcome first (poll step, callback, sweep) settles the scene with
a write conditional on the scene's generation and task; the others find it settled and
do nothing. A deliberate Regenerate/Retry/Cancel bumps the generation, so a late result
for an old task can never overwrite the newer state.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from . import callback_health, plan, policy, rate_limit, style
from ..dal import history, projects as storage
from ..clients import secrets
from .backoff import Backoff, PollSchedule
from ..clients.breaker import GuardedKie, KieCircuitOpen, kie_client
from .callbacks import callback_base_url
from ..clients.poll_loop import get_poll_loops
from ..config import settings
from ..models.errors import Conflict
from ..clients.kie import KieError, KieRateLimited, KieRejected, KieUnavailable, TaskRecord, TaskState
from .media import clip_key, copy_from_url
from ..models.domain import GenerateAllResult, Scene, SceneStatus
from ..observability import MetricUnit, emit
from .projects import scene_view
from ..prompts import PromptError, compose

logger = Logger(child=True)

SUBMIT_RATE_LIMIT_RETRY = Backoff(first=1.0, factor=2.0, cap=8.0)
SUBMIT_ATTEMPTS = 4
# Scenes per Generate All claim write: about 230 expression characters each, well within
# DynamoDB's 4 KB expression limit (tests/unit/test_storage.py checks the largest).
CLAIM_CHUNK = 10
LOOP_STARTERS = 8  # StartExecution calls in flight at once during Generate All
# A claimed scene with no task id after this long lost its submit (a crash mid-request).
SUBMIT_GRACE_S = 120
UNKNOWN_OUTCOME = (
    "Kie.ai did not confirm the request in time, so we do not know whether this clip was started. "
    "It was not resubmitted automatically; Retry may charge again."
)


def whole_seconds(wait: float) -> int:
    """Step Functions' Wait takes whole seconds (SecondsPath must be an integer)."""
    return max(1, round(wait))


def _poll_schedule() -> PollSchedule:
    s = settings()
    return PollSchedule(
        first=s.poll_first_wait_s, callback_grace=s.poll_callback_grace_s,
        factor=s.poll_factor, floor=s.poll_min_wait_s, cap=s.poll_max_wait_s,
    )


def _elapsed(scene: Scene) -> float:
    return time.time() - (scene.startedAt or time.time())


def poll_wait(attempt: int, scene: Scene, callbacks: bool | None = None) -> int:
    """Seconds until the loop's next look at this scene's task (whole, for the Wait state);
    `callbacks`: whether this clip's callback can be trusted (read when not given)."""
    if callbacks is None:
        callbacks = attempt > 0 and callback_health.trusted(since=scene.startedAt or 0)
    return whole_seconds(_poll_schedule().wait(attempt, _elapsed(scene), callbacks=callbacks))


def retry_backoff() -> Backoff:
    """Retrying a busy Kie (5xx) from the loop: exponential, within the poll cap."""
    s = settings()
    return Backoff(first=s.poll_min_wait_s, factor=2.0, cap=s.poll_max_wait_s)


def _kie(owner_id: str | None, scene: Scene) -> tuple[GuardedKie, secrets.KieKey]:
    """The client for the key this scene's clip is paid with (the owner's own, or ours)."""
    key = secrets.kie_key_for(owner_id, scene.keyOwner)
    return kie_client(key.value), key


def _submit(scene: Scene, callback_url: str | None, kie: GuardedKie, key: secrets.KieKey) -> str:
    """Submit within the shared rate limit; Kie's own 429 is retried with backoff."""
    for attempt in range(SUBMIT_ATTEMPTS):
        admission = rate_limit.wait_for_slot(key.value)
        if not admission.admitted:
            raise KieRateLimited(429, "no submit slot free within the wait")
        try:
            return _send(scene, callback_url, kie, key, admission.slot)
        except KieRateLimited:
            if attempt == SUBMIT_ATTEMPTS - 1:
                raise
            time.sleep(SUBMIT_RATE_LIMIT_RETRY.delay(attempt))
    raise AssertionError("unreachable")


def _send(scene: Scene, callback_url: str | None, kie: GuardedKie, key: secrets.KieKey, slot: str) -> str:
    """One submit in a taken rate-limit slot, finished whatever Kie answers."""
    try:
        task_id = kie.submit(scene.aiPrompt, model=settings().kie_model, callback_url=callback_url, seed=scene.seed)
    finally:
        rate_limit.finish(key.value, slot)
    emit("ClipsStarted", MetricUnit.Count, 1)  # Kie took it: one clip started, and charged
    emit("CreditsEstimated", MetricUnit.Count, settings().kie_credits_per_clip)
    return task_id


def _submitted(project_id: str, scene: Scene, task_id: str) -> None:
    history.record(
        project_id, scene.sceneId, "generation", taskId=task_id, prompt=scene.aiPrompt,
        promptSource=scene.promptSource, shotInstructions=scene.shotInstructions or None,
        **_shot_fields(scene, plan.current(scene)),
    )


def _callback_url(project_id: str, scene_id: str, generation: int) -> str | None:
    base = callback_base_url()
    if not base:
        return None
    signature = secrets.callback_signature(project_id, scene_id, generation)
    query = {"projectId": project_id, "sceneId": scene_id, "generation": generation, "sig": signature}
    return f"{base}?{urlencode(query)}"


def _await_task_id(project_id: str, scene_id: str, generation: int, owner: str | None) -> Scene:
    """Another request claimed this generation and is submitting: answer with its task
    (or at once when the scene is queued for its poll loop to submit)."""
    for _ in range(40):
        _, scene = storage.load_broll(project_id, owner=owner).scene(scene_id)
        settled = scene.generation != generation or scene.status != SceneStatus.GENERATING
        if settled or scene.taskId or scene.queued:
            return scene
        time.sleep(0.25)
    return scene


def _claim(project_id: str, scene_id: str, regenerate: bool, owner: str) -> tuple[int, Scene, bool]:
    """Move the scene to a new generation: (index, scene, True) for the request that won.

    The claim is the idempotency guard (a conditional write on the scene's generation, the
    equivalent of Powertools Idempotency keyed `{projectId}-scene-{sceneId}` + generation,
    without a second table): of concurrent identical requests exactly one moves the scene
    on; the others answer with the winner's scene. Only Regenerate/Retry bump it again.
    """
    record = storage.load_project(project_id, owner=owner)
    index, scene = record.scene(scene_id)
    if scene.status == SceneStatus.GENERATING:
        return index, _await_task_id(project_id, scene_id, scene.generation, owner), False
    if scene.status == SceneStatus.COMPLETED and not regenerate:
        raise Conflict("This scene already has a clip. Use Regenerate to replace it.")
    changes = _claim_changes(record, scene, queued=False, key=secrets.kie_key_for(owner))
    try:
        storage.update_scene(project_id, index, scene_id, changes, owner=owner, generation=scene.generation)
    except storage.StaleScene:
        _, current = storage.load_broll(project_id, owner=owner).scene(scene_id)
        return index, _await_task_id(project_id, scene_id, current.generation, owner), False
    return index, storage.with_changes(scene, changes), True


def _claim_changes(record: storage.ProjectRecord, scene: Scene, queued: bool, key: secrets.KieKey) -> dict:
    """What a claim writes: the next generation, generating, and a prompt if there is none
    or it was composed for an earlier style lock (a person's own prompt is kept). A scene
    longer than one clip gets its sub-shots, each with a prompt; one that did not complete
    goes on from its first sub-shot without a clip.

    A queued claim (Generate All) writes no prompt: it leaves each one to write empty, and
    the scene's poll loop writes them on its submit turn (_write_due_prompts). The request
    never waits for Claude, however many scenes and sub-shots there are."""
    project_style = style.style_of(record.broll)
    current_style = style.version(project_style)
    if plan.count_for(scene) > 1:
        shots = plan.prepared(record, scene, for_generation=True, write=not queued)
        changes = {"plan": plan.stored(shots)} | plan.next_prompt(shots)
    else:
        changes = {"plan": []} if scene.plan else {}
        # A prompt left from a sub-shot, or composed for an older style, is written again.
        stale = scene.promptSource != "person" and (bool(scene.plan) or (scene.styleVersion or "") != current_style)
        if (not scene.aiPrompt or stale) and queued:
            changes |= {"aiPrompt": "", "promptSource": None, "promptNote": None}
        elif not scene.aiPrompt or stale:
            composed = compose(style.prompt_request(record, scene))
            changes |= {"aiPrompt": composed.text, "promptSource": composed.source, "promptNote": composed.note}
    return changes | {
        "rewrite": None,
        "styleVersion": current_style,
        "seed": project_style.seed,
        "status": SceneStatus.GENERATING.value,
        "generation": scene.generation + 1,
        "taskId": None,
        "pollExecution": None,
        "queued": queued,
        "error": None,
        "progress": 0,
        "startedAt": time.time(),
        "keyOwner": key.owner,
        "keyLast4": key.last4,
    }


def _submit_failure_message(exc: KieError) -> str:
    # A timeout after the request left us: Kie may have started (and charged) the task.
    sent_but_unknown = isinstance(exc, KieUnavailable) and exc.code == 0 and "timeout" in exc.detail
    return UNKNOWN_OUTCOME if sent_but_unknown else exc.user_message


def start_generation(project_id: str, scene_id: str, *, regenerate: bool = False, owner: str) -> Scene:
    """One scene, submitted now: the person sees Kie's answer (or its refusal) at once."""
    index, scene, won = _claim(project_id, scene_id, regenerate, owner)
    if not won:
        return scene_view(scene)
    try:
        kie, key = _kie(owner, scene)
    except secrets.NoKieKey as exc:  # the key was removed between the claim and now
        return _fail(project_id, index, scene, exc.message, "no_key")
    for _ in range(2):  # the second pass only after one rewrite of a refused prompt
        try:
            task_id = _submit(scene, _callback_url(project_id, scene_id, scene.generation), kie, key)
            break
        except KieError as exc:
            logger.warning("kie submit failed", extra={"projectId": project_id, "sceneId": scene_id, "code": exc.code})
            rewritten = policy.rewrite_if_refused(project_id, index, scene, exc)
            if rewritten is None:
                return _fail(project_id, index, scene, _submit_failure_message(exc), failure_reason(exc))
            scene = rewritten
    storage.update_scene(project_id, index, scene_id, {"taskId": task_id}, owner=owner, generation=scene.generation)
    scene = scene.model_copy(update={"taskId": task_id})
    _submitted(project_id, scene, task_id)
    _start_poll_loop(project_id, index, scene)
    return scene_view(scene)


def execution_name(project_id: str, scene: Scene, restart: str = "") -> str:
    """The first loop of a generation has a name derived from it (no extra write); a loop
    restarted by the sweep gets a suffix, and its name is kept on the scene."""
    return f"{project_id}-{scene.sceneId}-g{scene.generation}{restart}"[-80:].strip("-")


def _start_poll_loop(
    project_id: str, index: int, scene: Scene, attempt: int = 0, submit: bool = False, first_wait: int = 1,
    restart: bool = False,
) -> None:
    """One execution per generation, found again by its name (see execution_name)."""
    state = {
        "projectId": project_id,
        "sceneId": scene.sceneId,
        "sceneIndex": index,
        "taskId": scene.taskId,
        "generation": scene.generation,
        "attempt": attempt,
        "waitSeconds": first_wait if submit else poll_wait(attempt, scene),
    }
    name = execution_name(project_id, scene, f"-r{int(time.time() * 1000)}" if restart else "")
    try:
        get_poll_loops().start(name, state)
        if restart:
            storage.update_scene(project_id, index, scene.sceneId, {"pollExecution": name}, owner=None, generation=scene.generation)
    except storage.StaleScene:
        pass  # settled meanwhile: the restarted loop will find nothing to do
    except Exception:  # noqa: BLE001 - the sweep repairs a scene whose loop never started
        logger.exception("could not start the poll loop", extra={"projectId": project_id, "sceneId": scene.sceneId})


def _loop_alive(project_id: str, scene: Scene) -> bool:
    # A loop that never started (or is gone) is not alive.
    return get_poll_loops().status(scene.pollExecution or execution_name(project_id, scene)) == "RUNNING"


def failure_reason(outcome: KieError | TaskRecord) -> str:
    """The ClipsFailed reason (docs/METRICS.md) of a Kie outcome that fails a scene."""
    if policy.refusal_reason(outcome):
        return "content_policy"  # refused again after its one rewrite, or the rewrite failed
    if isinstance(outcome, KieError) and _submit_failure_message(outcome) == UNKNOWN_OUTCOME:
        return "timeout"
    return "kie_rejected" if isinstance(outcome, KieRejected) else "kie_error"


def _fail(project_id: str, index: int, scene: Scene, message: str, reason: str) -> Scene:
    _record_failure(project_id, index, scene, message, reason, {"owner": None, "generation": scene.generation})
    return scene_view(scene.model_copy(update={"status": SceneStatus.FAILED, "error": message, "progress": 0}))


class ClipCopyFailed(Exception):
    """The clip is ready at Kie but not yet in our bucket: the scene stays generating."""


class Settled(Enum):
    PENDING = "pending"  # Kie is still working on it
    FINISHED = "finished"  # the scene is completed or failed (or moved on meanwhile)
    # The scene's next task is to be submitted: its prompt was rewritten once after a
    # content-policy refusal, or its next sub-shot is due.
    SUBMIT_NEXT = "submit_next"


def settle(project_id: str, index: int, scene: Scene, record: TaskRecord, via: str = "poll") -> Settled:
    """Apply a task's outcome to its scene; `via`: who learnt it (poll, callback or sweep)."""
    if record.state == TaskState.GENERATING:
        return Settled.PENDING
    if record.state == TaskState.FAILED:
        if policy.rewrite_if_refused(project_id, index, scene, record):
            _detected(scene, via)
            return Settled.SUBMIT_NEXT
        if _fail_if_current(project_id, index, scene, record.user_message, failure_reason(record)):
            _detected(scene, via)
        return Settled.FINISHED
    if not record.result_urls:
        if _fail_if_current(project_id, index, scene, "Kie.ai finished but returned no video. Retry.", "kie_error"):
            _detected(scene, via)
        return Settled.FINISHED
    task_id = scene.taskId or record.task_id
    key = clip_key(project_id, scene.sceneId, task_id)
    try:
        copy_from_url(record.result_urls[0], key)
    except Exception as exc:  # noqa: BLE001 - any copy failure: keep the scene, try again
        emit("ClipCopyFailed", MetricUnit.Count, 1)
        raise ClipCopyFailed(str(exc)) from exc
    changes, sub_shot = _clip_changes(scene, task_id, key)
    try:
        storage.update_scene(project_id, index, scene.sceneId, changes, **_still_generating(scene))
    except storage.StaleScene:
        logger.info("result for a superseded generation ignored", extra={"projectId": project_id, "sceneId": scene.sceneId})
        return Settled.FINISHED
    emit("ClipsCompleted", MetricUnit.Count, 1)
    _detected(scene, via)
    history.record(
        project_id, scene.sceneId, "clip", taskId=task_id, videoKey=key, prompt=scene.aiPrompt,
        promptSource=scene.promptSource, shotInstructions=scene.shotInstructions or None, seed=scene.seed,
        styleVersion=scene.styleVersion, **_shot_fields(scene, sub_shot),
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


def _shot_fields(scene: Scene, index: int | None) -> dict:
    """History's note of which sub-shot an entry is about (nothing for a single clip)."""
    if index is None:
        return {}
    shot = scene.plan[index]
    return {"shot": shot.n, "shots": len(scene.plan), "start": shot.start, "end": shot.end}


def _still_generating(scene: Scene) -> dict:
    """The scene is still waiting for this very task (a rewrite may have replaced it)."""
    return {
        "owner": None, "generation": scene.generation, "status_in": (SceneStatus.GENERATING.value,),
        "expect": {"taskId": scene.taskId},
    }


def _detected(scene: Scene, via: str) -> None:
    """A task's outcome was applied by `via`: how long after the clip's submit (its startedAt)."""
    emit("DetectionDelay", MetricUnit.Seconds, max(0.0, time.time() - (scene.startedAt or time.time())), Path=via)


def _fail_if_current(project_id: str, index: int, scene: Scene, message: str, reason: str) -> bool:
    return _record_failure(project_id, index, scene, message, reason, _still_generating(scene))


def _record_failure(project_id: str, index: int, scene: Scene, message: str, reason: str, guard: dict) -> bool:
    """Fail the scene (True), unless it moved on meanwhile (False); `reason`: ClipsFailed's."""
    changes = {"status": SceneStatus.FAILED.value, "error": message, "progress": 0}
    try:
        storage.update_scene(project_id, index, scene.sceneId, changes, **guard)
    except storage.StaleScene:
        logger.info("result for a superseded generation ignored", extra={"projectId": project_id, "sceneId": scene.sceneId})
        return False
    emit("ClipsFailed", MetricUnit.Count, 1, Reason=reason)
    history.record(project_id, scene.sceneId, "failed", error=message, taskId=scene.taskId, prompt=scene.aiPrompt)
    return True


def _is_current(scene: Scene, task_id: str, generation: int) -> bool:
    return scene.status == SceneStatus.GENERATING and scene.taskId == task_id and scene.generation == generation


def _next_turn(state: dict, attempt: int, wait: float) -> dict:
    return state | {"outcome": "pending", "attempt": attempt, "waitSeconds": whole_seconds(wait)}


def _done(state: dict, attempt: int) -> dict:
    return state | {"outcome": "done", "attempt": attempt}


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
    owner_id, index, scene = storage.load_scene(project_id, int(state.get("sceneIndex", 0)), state["sceneId"])
    attempt = int(state.get("attempt", 0)) + 1
    if not _is_current(scene, task_id, generation):
        return _done(state, attempt)  # settled by a callback, cancelled or regenerated meanwhile
    overdue = _overdue(scene, time.time())
    if overdue:
        _fail(project_id, index, scene, overdue, "timeout")
        return _done(state, attempt)
    trusted = task_id is not None and callback_health.trusted(since=scene.startedAt or 0)
    if _poll_schedule().awaiting_callback(_elapsed(scene), trusted):
        # Callbacks have arrived since this clip was sent: its own will settle it. Look only
        # at the grace, as the safety net (no Kie call now).
        return _next_turn(state, attempt, poll_wait(attempt, scene, callbacks=True))
    try:
        kie, key = _kie(owner_id, scene)
    except secrets.NoKieKey as exc:
        _fail(project_id, index, scene, exc.message, "no_key")
        return _done(state, attempt)
    if task_id is None:
        return _submit_turn(project_id, index, scene, state, attempt, kie, key)
    try:
        task = kie.record_info(task_id)
    except KieCircuitOpen as exc:
        return _next_turn(state, attempt, max(poll_wait(attempt, scene, trusted), exc.retry_at - time.time()))
    except (KieUnavailable, KieRateLimited):
        return _next_turn(state, attempt, poll_wait(attempt, scene, trusted))
    except KieRejected as exc:
        _fail(project_id, index, scene, exc.user_message, failure_reason(exc))
        return _done(state, attempt)
    try:
        outcome = settle(project_id, index, scene, task)
        if outcome is not Settled.PENDING and callback_base_url():
            callback_health.callback_missed()  # we found it first: its callback did not come
        if outcome is Settled.SUBMIT_NEXT:
            return _next_turn(state | {"taskId": None}, attempt, 1)  # the next turn submits it
        if outcome is Settled.FINISHED:
            return _done(state, attempt)
    except ClipCopyFailed:
        logger.warning("clip copy failed, retrying next turn", extra={"projectId": project_id, "sceneId": scene.sceneId})
    return _next_turn(state, attempt, poll_wait(attempt, scene, trusted))


def _prompts_due(scene: Scene) -> bool:
    """A Generate All claim left this scene's prompt (or a sub-shot's) for its loop to write."""
    return not scene.aiPrompt or any(not shot.prompt for shot in scene.plan)


def _write_due_prompts(project_id: str, index: int, scene: Scene) -> Scene:
    """Write the prompts a Generate All claim left empty: the scene's own, or every sub-shot's
    without one (side by side, as a claim would). Each scene's loop writes its own, so the
    Claude calls are spread over the loops instead of one request. They are written with the
    project's style lock as it is now. Raises PromptError, and StaleScene when the scene moved
    on (cancelled, regenerated) meanwhile."""
    record = storage.load_project(project_id, owner=None)  # the script and the style lock
    if scene.plan:
        shots = plan.with_missing_prompts(record, scene)
        changes = {"plan": plan.stored(shots)} | plan.next_prompt(shots)
    else:
        composed = compose(style.prompt_request(record, scene))
        changes = {"aiPrompt": composed.text, "promptSource": composed.source, "promptNote": composed.note}
    storage.update_scene(project_id, index, scene.sceneId, changes, **_still_generating(scene))
    return storage.with_changes(scene, changes)


def _submit_turn(
    project_id: str, index: int, scene: Scene, state: dict, attempt: int, kie: GuardedKie, key: secrets.KieKey
) -> dict:
    """A queued scene's turn: submit if the shared rate limit has a slot, else wait for one.

    First, once, the prompts its claim left to write (before taking a slot, which Claude's
    seconds would otherwise hold); a prompt that cannot be written fails the scene with why.
    Busy answers (a full window, Kie's 429, an open breaker, a 5xx) only lengthen the wait;
    a refusal fails the scene with what to change; a timeout is never resubmitted.
    """
    if _prompts_due(scene):
        try:
            scene = _write_due_prompts(project_id, index, scene)
        except PromptError as exc:
            _fail(project_id, index, scene, exc.message, "prompt_error")
            return _done(state, attempt)
        except storage.StaleScene:
            return _done(state, attempt)  # cancelled or regenerated while the prompt was written
    admission = rate_limit.try_admit(key.value)
    if not admission.admitted:
        # Waiting loops spread over the lanes' expected free times: all asking again when the
        # first lane frees would take one lane and cost every other loop a turn.
        return _next_turn(state, attempt, random.choice(admission.free_in) + random.uniform(0, 1))
    try:
        task_id = _send(scene, _callback_url(project_id, scene.sceneId, scene.generation), kie, key, admission.slot)
    except KieCircuitOpen as exc:
        return _next_turn(state, attempt, exc.retry_at - time.time())
    except KieRateLimited:
        return _next_turn(state, attempt, SUBMIT_RATE_LIMIT_RETRY.delay(attempt))
    except KieError as exc:
        message = _submit_failure_message(exc)
        if isinstance(exc, KieUnavailable) and message != UNKNOWN_OUTCOME:
            return _next_turn(state, attempt, retry_backoff().delay(attempt))
        if policy.rewrite_if_refused(project_id, index, scene, exc):
            return _next_turn(state, attempt, 1)  # the next turn submits the rewritten prompt
        _fail(project_id, index, scene, message, failure_reason(exc))
        return _done(state, attempt)
    # The clip's clock (progress, the overall deadline) starts at its submit, not in the queue.
    submitted = scene.model_copy(update={"taskId": task_id, "startedAt": time.time()})
    try:
        storage.update_scene(
            project_id, index, scene.sceneId, {"taskId": task_id, "startedAt": submitted.startedAt},
            owner=None, generation=scene.generation,
        )
    except storage.StaleScene:
        return _done(state, attempt)  # cancelled while submitting
    _submitted(project_id, submitted, task_id)
    return _next_turn(state | {"taskId": task_id}, 0, poll_wait(0, submitted))


def confirm_callback(project_id: str, scene_id: str, generation: int, task_id: str) -> bool:
    """A Kie callback is only a hint: confirm with record-info, then settle. The caller has
    checked the URL's signature, so this acts as the system, not as a user."""
    record = storage.load_broll(project_id, owner=None)
    index, scene = record.scene(scene_id)
    if not _is_current(scene, task_id, generation):
        return False
    kie, _ = _kie(record.owner_id, scene)
    outcome = settle(project_id, index, scene, kie.record_info(task_id), via="callback")
    if outcome is Settled.SUBMIT_NEXT:
        # This scene's loop is watching the settled task and will stop; a new one submits.
        _start_poll_loop(project_id, index, scene.model_copy(update={"taskId": None}), submit=True, restart=True)
    return outcome is not Settled.PENDING


def cancel(project_id: str, scene_id: str, owner: str) -> Scene:
    record = storage.load_broll(project_id, owner=owner)
    index, scene = record.scene(scene_id)
    if scene.status != SceneStatus.GENERATING:
        raise Conflict("This scene is not generating, so there is nothing to cancel.")
    changes = {
        "status": SceneStatus.IDLE.value, "generation": scene.generation + 1, "taskId": None,
        "progress": 0, "error": None, "startedAt": None,
    }
    storage.update_scene(project_id, index, scene_id, changes, owner=owner, generation=scene.generation)
    history.record(project_id, scene_id, "cancelled", taskId=scene.taskId, prompt=scene.aiPrompt)
    return scene_view(scene.model_copy(update=changes | {"status": SceneStatus.IDLE}))


def startable(scenes: list[Scene]) -> tuple[list[tuple[int, Scene]], list[dict]]:
    """The scenes Generate All would start (no clip, not generating), and those it skips."""
    wanted, skipped = [], []
    for index, scene in enumerate(scenes):
        if scene.status in (SceneStatus.COMPLETED, SceneStatus.GENERATING):
            skipped.append({"sceneId": scene.sceneId, "reason": scene.status.value})
        else:
            wanted.append((index, scene))
    return wanted, skipped


def generate_all(project_id: str, owner: str, max_clips: int | None = None) -> GenerateAllResult:
    """Queue every scene without a clip (at most max_clips of them, in timeline order);
    each poll loop writes the scene's missing prompts and submits within the rate limit, so
    the request answers at once however many scenes there are. Scenes are claimed a few per write, and the loops started side
    by side; first turns come in windows of the limit's size (20 now, 20 about eleven
    seconds later, ...), so few loops wake only to find every lane still taken.
    """
    record = storage.load_project(project_id, owner=owner)
    key = secrets.kie_key_for(owner)
    asked_at = time.time()
    candidates, skipped = startable(record.scenes)
    if max_clips is not None:
        candidates, over = _within_cap(candidates, max_clips)
        skipped += [{"sceneId": scene.sceneId, "reason": "budget cap reached"} for _, scene in over]
    # No prompt is written here (see _claim_changes): each scene's loop writes its own.
    wanted = [(index, scene, _claim_changes(record, scene, True, key)) for index, scene in candidates]
    claimed = []
    for first in range(0, len(wanted), CLAIM_CHUNK):
        won, stale = _claim_together(project_id, wanted[first:first + CLAIM_CHUNK], owner)
        claimed += won
        skipped += [{"sceneId": scene_id, "reason": "changed meanwhile"} for scene_id in stale]
    with ThreadPoolExecutor(max_workers=LOOP_STARTERS) as pool:
        for position, (index, scene) in enumerate(claimed):
            # Due times count from the request, not from each loop's own start. A window's lanes
            # free 10 s after Kie *answered* their submits, so the next window is due that much later.
            window = rate_limit.WINDOW_S + rate_limit.ANSWER_S
            due = asked_at + 1 + (position // rate_limit.submits_per_window()) * window
            pool.submit(_start_poll_loop, project_id, index, scene, submit=True, first_wait=whole_seconds(due - time.time()))
    return GenerateAllResult(started=[scene_view(scene) for _, scene in claimed], skipped=skipped)


def _within_cap(candidates: list[tuple[int, Scene]], max_clips: int) -> tuple[list, list]:
    """The scenes, in timeline order, whose clips (several for a long scene) fit in the cap."""
    within, over, clips = [], [], 0
    for index, scene in candidates:
        needed = plan.clips_to_make(scene)
        if clips + needed <= max_clips and not over:
            within.append((index, scene))
            clips += needed
        else:
            over.append((index, scene))
    return within, over


def _claim_together(project_id: str, wanted: list[tuple[int, Scene, dict]], owner: str) -> tuple[list, list[str]]:
    """Claim scenes in one write; if any of them moved on meanwhile, claim them one by one.
    Returns ([(index, claimed scene)], [ids of scenes that moved on])."""
    writes = [storage.SceneWrite(i, scene.sceneId, changes, generation=scene.generation) for i, scene, changes in wanted]
    try:
        storage.update_scenes(project_id, writes, owner=owner)
    except storage.StaleScene:
        if len(wanted) == 1:
            return [], [wanted[0][1].sceneId]
        won, stale = [], []
        for one in wanted:
            claimed, moved = _claim_together(project_id, [one], owner)
            won, stale = won + claimed, stale + moved
        return won, stale
    return [(i, storage.with_changes(scene, changes)) for i, scene, changes in wanted], []


def sweep(now: float | None = None) -> dict:
    """Repair scenes stuck in `generating`: a poll loop that died (or never started), a lost
    callback, a submit whose outcome never arrived, or a clip past the overall deadline."""
    now = now or time.time()
    counts = {"checked": 0, "settled": 0, "restarted": 0, "failed": 0}
    for project_id, owner_id, index, scene in storage.generating_scenes():
        counts["checked"] += 1
        age = now - (scene.startedAt or 0)
        overdue = _overdue(scene, now)
        if overdue:
            _fail(project_id, index, scene, overdue, "timeout")
            counts["failed"] += 1
        elif not scene.taskId:
            if age > SUBMIT_GRACE_S and not _loop_alive(project_id, scene):
                _fail(project_id, index, scene, UNKNOWN_OUTCOME, "timeout")
                counts["failed"] += 1
        elif not _loop_alive(project_id, scene):
            try:
                kie, _ = _kie(owner_id, scene)
                outcome = settle(project_id, index, scene, kie.record_info(scene.taskId), via="sweep")
                if outcome is Settled.FINISHED:
                    counts["settled"] += 1
                    continue
                if outcome is Settled.SUBMIT_NEXT:
                    scene = scene.model_copy(update={"taskId": None})
            except (KieError, ClipCopyFailed, secrets.NoKieKey) as exc:
                logger.warning("sweep could not settle the scene", extra={"error": str(exc)})
            _start_poll_loop(project_id, index, scene, attempt=1, restart=True)
            counts["restarted"] += 1
    return counts
