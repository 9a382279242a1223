"""The project's style lock: one look (and an optional Veo seed) for every scene's prompt.

Each scene remembers the style version its prompt was written with; a clip made with an
older version is shown as out of date, and a composed (not hand-written) prompt is
written again with the new style at its next generation.
"""

from __future__ import annotations

import hashlib
import json

from .. import prompts
from ..dal import projects as storage
from ..models.api import StyleBody
from ..models.domain import BrollPart, Scene, StyleLock


def style_of(broll: BrollPart) -> StyleLock:
    return StyleLock.model_validate(broll.style or {})


def version(style: StyleLock) -> str:
    """A short name of the style; "" for no style lock at all (the default look)."""
    if style == StyleLock():
        return ""
    return hashlib.sha256(json.dumps(style.model_dump(), sort_keys=True).encode()).hexdigest()[:12]


def prompt_request(
    record: storage.ProjectRecord, scene: Scene, shot: tuple[int, int] | None = None
) -> prompts.PromptRequest:
    """Everything a prompt for this scene (or its sub-shot n of count) is written from: the
    scene, the script, the style."""
    return prompts.PromptRequest(
        shot=shot,
        scene_type=scene.sceneType,
        scene_title=scene.sceneTitle,
        scene_text=scene.text,
        shot_instructions=scene.shotInstructions,
        script=record.script.script,
        style=prompts.StyleLock(**style_of(record.broll).model_dump()),
    )


def is_out_of_date(scene: Scene, current: str) -> bool:
    return bool(scene.videoKey) and (scene.styleVersion or "") != current


def set_style(project_id: str, body: StyleBody, owner: str) -> StyleLock:
    storage.load_broll(project_id, owner=owner)  # 404 for a project that is not the caller's
    style = StyleLock.model_validate(body.model_dump())
    storage.update_broll(project_id, {"style": style.model_dump(exclude_none=True)}, owner=owner)
    return style
