"""The project's style lock: one look (and an optional Veo seed) for every scene's prompt,
and the one way a scene's prompt is composed (compose).

Each scene remembers the style version its prompt was written with; a clip made with an
older version is shown as out of date, and a composed (not hand-written) prompt is
written again with the new style at its next generation.

Claude's prompts are kept (dal/prompt_cache.py) by what they were written from, the style
included (Claude is told it and writes the body to it): the same scene asked again with the
same style (a retry, a request that timed out after Claude answered) makes no second call,
a new style lock asks again. Each call made counts toward the owner's daily quota.
"""

from __future__ import annotations

import hashlib
import json

from . import quota
from .. import prompts
from ..dal import projects as storage
from ..dal.prompt_cache import get_prompt_cache
from ..models.api import StyleBody
from ..models.domain import BrollPart, Scene, StyleLock


def style_of(broll: BrollPart) -> StyleLock:
    return StyleLock.model_validate(broll.style or {})


def version(style: StyleLock) -> str:
    """A short name of the style; "" for no style lock at all (the default look)."""
    if style == StyleLock():
        return ""
    return hashlib.sha256(json.dumps(style.model_dump(), sort_keys=True).encode()).hexdigest()[:12]


# The neighbours' narration sent with a scene, at most (half before, half after): what the
# scene means in the story, without paying for the whole script in every prompt.
CONTEXT_CHARS = 600


def context(record: storage.ProjectRecord, scene: Scene) -> str:
    """The end of the previous scene's narration and the start of the next one's."""
    stored = record.broll.scenes  # as stored: nothing to validate for two texts
    texts, ids = [(raw.get("text") or "").strip() for raw in stored], [raw.get("sceneId") for raw in stored]
    if scene.sceneId not in ids:
        return ""
    at, half = ids.index(scene.sceneId), CONTEXT_CHARS // 2
    before = texts[at - 1][-half:] if at > 0 else ""
    after = texts[at + 1][:half] if at + 1 < len(texts) else ""
    return "\n".join(line for line in (before and f"Before: {before}", after and f"After: {after}") if line)


def prompt_request(
    record: storage.ProjectRecord, scene: Scene, shot: tuple[int, int] | None = None
) -> prompts.PromptRequest:
    """Everything a prompt for this scene (or its sub-shot n of count) is written from: the
    scene, its neighbours' narration, the style."""
    return prompts.PromptRequest(
        shot=shot,
        scene_type=scene.sceneType,
        scene_title=scene.sceneTitle,
        scene_text=scene.text,
        shot_instructions=scene.shotInstructions,
        context=context(record, scene),
        style=prompts.StyleLock(**style_of(record.broll).model_dump()),
    )


def compose(record: storage.ProjectRecord, scene: Scene, shot: tuple[int, int] | None = None) -> prompts.ComposedPrompt:
    """This scene's prompt (or its sub-shot n of count's); raises PromptError."""
    request = prompt_request(record, scene, shot)
    return prompts.compose(request, claude=lambda asked: _claude(asked, record.owner_id))


def _claude(request: prompts.PromptRequest, owner: str | None) -> prompts.ComposedPrompt:
    cache, key = get_prompt_cache(), prompts.cache_key(request)
    kept = cache.get(key)
    if kept is not None:
        return kept
    quota.record_prompt(owner)  # counted before the call: a call that fails after sending may be billed
    composed = prompts.compose_with_claude(request)
    cache.put(key, composed)  # at once: a request timing out later pays nothing again
    return composed


def is_out_of_date(scene: Scene, current: str) -> bool:
    return bool(scene.videoKey) and (scene.styleVersion or "") != current


def set_style(project_id: str, body: StyleBody, owner: str) -> StyleLock:
    storage.load_broll(project_id, owner=owner)  # 404 for a project that is not the caller's
    style = StyleLock.model_validate(body.model_dump())
    storage.update_broll(project_id, {"style": style.model_dump(exclude_none=True)}, owner=owner)
    return style
