"""Submitting to Kie: within the shared rate limit and through the shared breaker, now (one
scene, the person sees Kie's answer) or on a queued scene's loop turn (busy answers only
lengthen the wait); a refusal rewrites the prompt once; a timeout is never resubmitted."""

from __future__ import annotations

import random
import time
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from .. import plan, policy, rate_limit
from ..backoff import Backoff
from ..callbacks import callback_base_url
from ...clients import secrets
from ...clients.breaker import KieCalls, KieCircuitOpen, get_kie
from ...clients.kie import KieError, KieRateLimited, KieUnavailable
from ...config import settings
from ...dal import projects as storage
from ...dal.history import get_history
from ...dal.projects import get_projects
from ...models.domain import Scene, SceneSlot
from ...observability import MetricUnit, emit
from ...prompts import PromptError
from ..views import scene_view
from .claim import _claim, _prompts_due, _write_due_prompts
from .executions import _done, _next_turn, _start_poll_loop, poll_wait, retry_backoff
from .settle import UNKNOWN_OUTCOME, _fail, _shot_fields, _submit_failure_message, failure_reason

logger = Logger(child=True)

SUBMIT_RATE_LIMIT_RETRY = Backoff(first=1.0, factor=2.0, cap=8.0)
SUBMIT_ATTEMPTS = 4


def _kie(owner_id: str | None, scene: Scene) -> tuple[KieCalls, secrets.KieKey]:
    """The client for the key this scene's clip is paid with (the owner's own, or ours)."""
    key = get_kie().key_for(owner_id, scene.keyOwner)
    return get_kie().client(key.value), key


def _submit(scene: Scene, callback_url: str | None, kie: KieCalls, key: secrets.KieKey) -> str:
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


def _send(scene: Scene, callback_url: str | None, kie: KieCalls, key: secrets.KieKey, slot: str) -> str:
    """One submit in a taken rate-limit slot, finished whatever Kie answers."""
    try:
        task_id = kie.submit(scene.aiPrompt, model=settings().kie_model, callback_url=callback_url, seed=scene.seed)
    finally:
        rate_limit.finish(key.value, slot)
    emit("ClipsStarted", MetricUnit.Count, 1)  # Kie took it: one clip started, and charged
    emit("CreditsEstimated", MetricUnit.Count, settings().kie_credits_per_clip)
    return task_id


def _submitted(project_id: str, scene: Scene, task_id: str) -> None:
    get_history().record(
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


def start_generation(project_id: str, scene_id: str, *, regenerate: bool = False, owner: str) -> Scene:
    """One scene, submitted now: the person sees Kie's answer (or its refusal) at once."""
    index, scene, won = _claim(project_id, scene_id, regenerate, owner)
    if not won:
        return scene_view(scene)
    slot = SceneSlot(project_id, index, scene, owner)
    try:
        kie, key = _kie(owner, scene)
    except secrets.NoKieKey as exc:  # the key was removed between the claim and now
        return _fail(slot, exc.message, "no_key")
    for _ in range(2):  # the second pass only after one rewrite of a refused prompt
        try:
            task_id = _submit(scene, _callback_url(project_id, scene_id, scene.generation), kie, key)
            break
        except KieError as exc:
            logger.warning("kie submit failed", extra={"projectId": project_id, "sceneId": scene_id, "code": exc.code})
            rewritten = policy.rewrite_if_refused(slot, exc)
            if rewritten is None:
                return _fail(slot, _submit_failure_message(exc), failure_reason(exc))
            scene = rewritten
            slot = slot.with_scene(scene)
    get_projects().update_scene(project_id, index, scene_id, {"taskId": task_id}, owner=owner, generation=scene.generation)
    scene = scene.model_copy(update={"taskId": task_id})
    _submitted(project_id, scene, task_id)
    _start_poll_loop(slot.with_scene(scene))
    return scene_view(scene)


def _submit_turn(slot: SceneSlot, state: dict, attempt: int, kie: KieCalls, key: secrets.KieKey) -> dict:
    """A queued scene's turn: submit if the shared rate limit has a slot, else wait for one.

    First, once, the prompts its claim left to write (before taking a slot, which Claude's
    seconds would otherwise hold); a prompt that cannot be written fails the scene with why.
    Busy answers (a full window, Kie's 429, an open breaker, a 5xx) only lengthen the wait;
    a refusal fails the scene with what to change; a timeout is never resubmitted.
    """
    project_id, index, scene = slot.project_id, slot.index, slot.scene
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
        task_id = _send(scene, _callback_url(project_id, scene.sceneId, scene.generation), kie, key, admission.slot)
    except KieCircuitOpen as exc:
        return _next_turn(state, attempt, exc.retry_at - time.time())
    except KieRateLimited:
        return _next_turn(state, attempt, SUBMIT_RATE_LIMIT_RETRY.delay(attempt))
    except KieError as exc:
        message = _submit_failure_message(exc)
        if isinstance(exc, KieUnavailable) and message != UNKNOWN_OUTCOME:
            return _next_turn(state, attempt, retry_backoff().delay(attempt))
        if policy.rewrite_if_refused(slot, exc):
            return _next_turn(state, attempt, 1)  # the next turn submits the rewritten prompt
        _fail(slot, message, failure_reason(exc))
        return _done(state, attempt)
    # The clip's clock (progress, the overall deadline) starts at its submit, not in the queue.
    submitted = scene.model_copy(update={"taskId": task_id, "startedAt": time.time()})
    try:
        get_projects().update_scene(
            project_id, index, scene.sceneId, {"taskId": task_id, "startedAt": submitted.startedAt},
            owner=None, generation=scene.generation,
        )
    except storage.StaleScene:
        return _done(state, attempt)  # cancelled while submitting
    _submitted(project_id, submitted, task_id)
    return _next_turn(state | {"taskId": task_id}, 0, poll_wait(0, submitted))
