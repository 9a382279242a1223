"""One automatic rewrite after Kie refuses a prompt for content policy.

Kie answers 400 for a flagged prompt, at submit or in the task's result (after reserving
the credit). The prompt is then written again once (Claude, or the local composer in its
stricter mode) from the same scene, told what was refused and why; the scene keeps both
prompts and the reason, and its history says so. A second refusal in the same generation
fails the scene: never more than one rewrite, never a blind resubmit of the same prompt.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone

from aws_lambda_powertools import Logger

from ..dal import projects as storage
from ..dal.history import get_history
from ..dal.projects import get_projects
from . import plan, quota, style
from ..clients.kie import KieError, KieRejected, TaskRecord, TaskState
from ..models.domain import PolicyRewrite, Scene, SceneSlot
from ..prompts import PromptError, rewrite_for_policy

logger = Logger(child=True)

CONTENT_POLICY_CODE = 400


def refusal_reason(outcome: KieError | TaskRecord) -> str | None:
    """Kie's words when it refused the prompt for content policy, else None."""
    if isinstance(outcome, KieRejected) and outcome.code == CONTENT_POLICY_CODE:
        return outcome.detail or "content policy"
    if isinstance(outcome, TaskRecord) and outcome.state == TaskState.FAILED and outcome.error_code == CONTENT_POLICY_CODE:
        return outcome.error_message or "content policy"
    return None


def rewrite_if_refused(slot: SceneSlot, outcome: KieError | TaskRecord) -> Scene | None:
    """The rewritten scene when `outcome` is a content-policy refusal that may still be
    rewritten (see rewrite_once), else None."""
    reason = refusal_reason(outcome)
    return rewrite_once(slot, reason) if reason else None


def rewrite_once(slot: SceneSlot, reason: str) -> Scene | None:
    """The scene with its prompt rewritten and no task (to be submitted again), or None when
    this generation was rewritten already, the rewrite failed, or the scene moved on."""
    project_id, index, scene = slot.project_id, slot.index, slot.scene
    if scene.rewrite is not None:
        return None
    record = get_projects().load_project(project_id, owner=None)
    try:
        request = style.prompt_request(record, scene, shot=plan.shot_of(scene))
        # A Claude call counts toward the owner's quota, before it is sent (one failing after may be billed).
        counted = functools.partial(quota.record_prompt, slot.owner)
        composed = rewrite_for_policy(request, scene.aiPrompt, reason, before_claude=counted)
    except PromptError as exc:
        logger.warning("policy rewrite failed", extra={"projectId": project_id, "sceneId": scene.sceneId, "error": exc.message})
        return None
    rewrite = PolicyRewrite(
        fromPrompt=scene.aiPrompt, reason=reason, note=composed.note,
        at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    changes = {
        "aiPrompt": composed.text, "promptSource": composed.source,
        "rewrite": rewrite.model_dump(exclude_none=True), "taskId": None,
    } | _sub_shot_prompt(scene, composed.text, composed.source)
    try:
        # Only for the refused task, and only once: the poll loop and the callback may both see the refusal.
        get_projects().update_scene(
            project_id, index, scene.sceneId, changes, owner=None, generation=scene.generation,
            status_in=("generating",), expect={"taskId": scene.taskId, "rewrite": None},
        )
    except storage.StaleScene:
        return None
    get_history().record(
        project_id, scene.sceneId, "rewrite", fromPrompt=scene.aiPrompt, prompt=composed.text,
        promptSource=composed.source, reason=reason, note=composed.note, taskId=scene.taskId,
    )
    logger.info("prompt rewritten after a content-policy refusal", extra={"projectId": project_id, "sceneId": scene.sceneId})
    return storage.with_changes(scene, changes)


def _sub_shot_prompt(scene: Scene, text: str, source: str) -> dict:
    """A scene of several sub-shots keeps each one's prompt in its plan: the rewritten one too."""
    index = plan.current(scene)
    if index is None:
        return {}
    shots = [shot.model_copy() for shot in scene.plan]
    shots[index].prompt, shots[index].promptSource = text, source
    return {"plan": plan.stored(shots)}
