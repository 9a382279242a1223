"""Generate All: every scene without a clip (within a clip cap and what the credits left cover)
claimed a few per write and queued for its own poll loop, the loops' first turns spread over the
rate limit's windows."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from .. import ledger, plan, rate_limit
from ..budget import credits_left, refusal, startable, within_cap
from ...clients.breaker import get_kie
from ...dal.projects import get_projects
from ...models.api import GenerateAllResult
from ...models.domain import SceneSlot
from ..views import scene_view
from .claim import CLAIM_CHUNK, _claim_changes, _claim_together
from .executions import _start_poll_loop, whole_seconds


LOOP_STARTERS = 8  # StartExecution calls in flight at once during Generate All


def generate_all(project_id: str, owner: str, max_clips: int | None = None) -> GenerateAllResult:
    """Queue every scene without a clip (at most max_clips of them, in timeline order);
    each poll loop writes the scene's missing prompts and submits within the rate limit, so
    the request answers at once however many scenes there are. Scenes are claimed a few per write, and the loops started side
    by side; first turns come in windows of the limit's size (20 now, 20 about eleven
    seconds later, ...), so few loops wake only to find every lane still taken.
    """
    record = get_projects().load_project(project_id, owner=owner)
    key = get_kie().key_for(owner)
    asked_at = time.time()
    candidates, skipped = startable(record.scenes)
    if max_clips is not None:
        candidates, over = within_cap(candidates, max_clips)
        skipped += [{"sceneId": scene.sceneId, "reason": "budget cap reached"} for _, scene in over]
    # Read before any claim: a batch the credits cannot start is refused with nothing submitted.
    credits = credits_left(owner, key)
    if credits.clips is not None and candidates:
        candidates, over = within_cap(candidates, credits.clips)
        if not candidates:
            raise refusal(credits, plan.clips_to_make(over[0][1]))
        skipped += [{"sceneId": scene.sceneId, "reason": "not enough credits"} for _, scene in over]
    # No prompt is written here (see _claim_changes): each scene's loop writes its own.
    wanted = [(index, scene, _claim_changes(record, scene, True, key)) for index, scene in candidates]
    claimed = []
    for first in range(0, len(wanted), CLAIM_CHUNK):
        won, stale = _claim_together(project_id, wanted[first:first + CLAIM_CHUNK], owner)
        claimed += won
        skipped += [{"sceneId": scene_id, "reason": "changed meanwhile"} for scene_id in stale]
    holds = [(scene, plan.clips_to_make(scene)) for _, scene in claimed]
    ledger.hold(owner, project_id, key, holds, credits.price.used)
    with ThreadPoolExecutor(max_workers=LOOP_STARTERS) as pool:
        for position, (index, scene) in enumerate(claimed):
            # Due times count from the request, not from each loop's own start. A window's lanes
            # free 10 s after Kie *answered* their submits, so the next window is due that much later.
            window = rate_limit.WINDOW_S + rate_limit.ANSWER_S
            due = asked_at + 1 + (position // rate_limit.submits_per_window()) * window
            pool.submit(_start_poll_loop, SceneSlot(project_id, index, scene, owner), submit=True, first_wait=whole_seconds(due - time.time()))
    return GenerateAllResult(started=[scene_view(scene) for _, scene in claimed], skipped=skipped)

