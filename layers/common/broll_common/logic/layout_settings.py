"""PUT …/layout: the project's layout and caption settings (step 7's `layout` map).

Only the fields given change (the captions' field by field; `overrides`, when given, replaces
them all). An override must name a scene of the project. A render under way keeps the material
it started with; the finished composite then shows as out of date.
"""

from __future__ import annotations

from ..dal import projects as storage
from ..models.api import LayoutBody, Project
from ..models.domain import LayoutSettings
from ..models.errors import InvalidInput
from .render import settings_of
from .views import project_view


def merged(current: LayoutSettings, body: LayoutBody) -> LayoutSettings:
    given = body.model_dump(exclude_unset=True, exclude_none=True)
    captions = current.captions.model_dump() | given.pop("captions", {})
    return LayoutSettings.model_validate(current.model_dump() | given | {"captions": captions})


def set_layout(project_id: str, body: LayoutBody, owner: str) -> Project:
    record = storage.load_project(project_id, owner=owner)  # 404 for a project that is not the caller's
    settings = merged(settings_of(record), body)
    ids = {scene.sceneId for scene in record.scenes}
    unknown = sorted(set(settings.overrides) - ids)
    if unknown:
        raise InvalidInput(f"overrides: this project has no scene '{unknown[0]}'.")
    storage.update_broll(project_id, {"layout": settings.model_dump(mode="json")}, owner=owner)
    return project_view(storage.load_project(project_id, owner=owner))
