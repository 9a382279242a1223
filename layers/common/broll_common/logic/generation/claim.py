"""The claim: the idempotency guard that moves a scene to a new generation (one scene now, or
Generate All's few per write), and the prompts a queued claim leaves for its loop to write."""

from __future__ import annotations

import time

from .. import ledger, plan, quota, style
from ...clients import secrets
from ...clients.breaker import get_kie
from ...dal import projects as storage
from ...dal.projects import get_projects
from ...models.domain import Scene, SceneSlot, SceneStatus
from ...models.errors import Conflict
from .settle import _still_generating


# Scenes per Generate All claim write: about 230 expression characters each, well within
# DynamoDB's 4 KB expression limit (tests/unit/test_storage.py checks the largest).
CLAIM_CHUNK = 10


def _await_task_id(project_id: str, scene_id: str, generation: int, owner: str | None) -> Scene:
    """Another request claimed this generation and is submitting: answer with its task
    (or at once when the scene is queued for its poll loop to submit)."""
    for _ in range(40):
        _, scene = get_projects().load_broll(project_id, owner=owner).scene(scene_id)
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
    record = get_projects().load_project(project_id, owner=owner)
    index, scene = record.scene(scene_id)
    if scene.status == SceneStatus.GENERATING:
        return index, _await_task_id(project_id, scene_id, scene.generation, owner), False
    if scene.status == SceneStatus.COMPLETED and not regenerate:
        raise Conflict("This scene already has a clip. Use Regenerate to replace it.")
    key = get_kie().key_for(owner)
    clips = plan.clips_to_make(scene)
    per_clip = quota.admit(owner, key, clips)  # refused before anything is written or sent
    changes = _claim_changes(record, scene, queued=False, key=key)
    try:
        get_projects().update_scene(project_id, index, scene_id, changes, owner=owner, generation=scene.generation)
    except storage.StaleScene:
        _, current = get_projects().load_broll(project_id, owner=owner).scene(scene_id)
        return index, _await_task_id(project_id, scene_id, current.generation, owner), False
    claimed = storage.with_changes(scene, changes)
    ledger.hold(owner, project_id, key, [(claimed, clips)], per_clip)
    return index, claimed, True


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
            composed = style.compose(record, scene)
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
        "waiting": None,
        "error": None,
        "progress": 0,
        "startedAt": time.time(),
        "keyOwner": key.owner,
        "keyLast4": key.last4,
    }


def _claim_together(project_id: str, wanted: list[tuple[int, Scene, dict]], owner: str) -> tuple[list, list[str]]:
    """Claim scenes in one write; if any of them moved on meanwhile, claim them one by one.
    Returns ([(index, claimed scene)], [ids of scenes that moved on])."""
    writes = [storage.SceneWrite(i, scene.sceneId, changes, generation=scene.generation) for i, scene, changes in wanted]
    try:
        get_projects().update_scenes(project_id, writes, owner=owner)
    except storage.StaleScene:
        if len(wanted) == 1:
            return [], [wanted[0][1].sceneId]
        won, stale = [], []
        for one in wanted:
            claimed, moved = _claim_together(project_id, [one], owner)
            won, stale = won + claimed, stale + moved
        return won, stale
    return [(i, storage.with_changes(scene, changes)) for i, scene, changes in wanted], []


def _prompts_due(scene: Scene) -> bool:
    """A Generate All claim left this scene's prompt (or a sub-shot's) for its loop to write."""
    return not scene.aiPrompt or any(not shot.prompt for shot in scene.plan)


def _write_due_prompts(slot: SceneSlot) -> Scene:
    """Write the prompts a Generate All claim left empty: the scene's own, or every sub-shot's
    without one (side by side, as a claim would). Each scene's loop writes its own, so the
    Claude calls are spread over the loops instead of one request. They are written with the
    project's style lock as it is now. Raises PromptError, and StaleScene when the scene moved
    on (cancelled, regenerated) meanwhile."""
    project_id, index, scene = slot.project_id, slot.index, slot.scene
    record = get_projects().load_project(project_id, owner=None)  # the script and the style lock
    if scene.plan:
        shots = plan.with_missing_prompts(record, scene)
        changes = {"plan": plan.stored(shots)} | plan.next_prompt(shots)
    else:
        composed = style.compose(record, scene)
        changes = {"aiPrompt": composed.text, "promptSource": composed.source, "promptNote": composed.note}
    get_projects().update_scene(project_id, index, scene.sceneId, changes, **_still_generating(scene))
    return storage.with_changes(scene, changes)
