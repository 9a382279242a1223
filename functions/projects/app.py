"""Project routes: list, import, read, rename, duplicate, delete, edit a scene, its plan and the
scene boundaries, its history and chosen clip, the style lock, complete, reopen."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import clips, manage, projects, style, timings
from broll_common.api import ProjectId, SceneId, lambda_entry, make_resolver, user_id
from broll_common.models.api import (
    DeleteAnswer,
    DuplicateRequest,
    EmptyBody,
    PlanEdit,
    Project,
    ProjectImport,
    ProjectList,
    ProjectRename,
    SceneEdit,
    SceneHistory,
    SelectClip,
    StyleBody,
    TimingsRequest,
)
from broll_common.models.domain import Scene

app = make_resolver()


@app.get("/api/projects")
def list_projects() -> ProjectList:
    return ProjectList(projects=projects.list_summaries(user_id(app)))


@app.post(
    "/api/projects",
    responses={201: {"description": "Project imported", "content": {"application/json": {"model": Project}}}},
)
def import_project(body: Annotated[ProjectImport, Body()]):
    return projects.import_project(body, user_id(app)).model_dump(mode="json"), 201


@app.get("/api/projects/<project_id>")
def read_project(project_id: ProjectId) -> Project:
    return projects.read_project(project_id, user_id(app))


@app.patch("/api/projects/<project_id>")
def rename(project_id: ProjectId, body: Annotated[ProjectRename, Body()]) -> Project:
    return manage.rename(project_id, body, user_id(app))


@app.delete("/api/projects/<project_id>")
def delete(project_id: ProjectId) -> DeleteAnswer:
    return manage.delete(project_id, user_id(app))


@app.post(
    "/api/projects/<project_id>/duplicate",
    responses={201: {"description": "The copy", "content": {"application/json": {"model": Project}}}},
)
def duplicate(project_id: ProjectId, body: Annotated[DuplicateRequest, Body()]):
    return manage.duplicate(project_id, body, user_id(app)).model_dump(mode="json"), 201


@app.put("/api/projects/<project_id>/timings")
def set_timings(project_id: ProjectId, body: Annotated[TimingsRequest, Body()]) -> Project:
    return timings.set_boundaries(project_id, body, user_id(app))


@app.put("/api/projects/<project_id>/broll/scenes/<scene_id>")
def edit_scene(project_id: ProjectId, scene_id: SceneId, body: Annotated[SceneEdit, Body()]) -> Scene:
    return projects.edit_scene(project_id, scene_id, body, user_id(app))


@app.put("/api/projects/<project_id>/broll/scenes/<scene_id>/plan")
def edit_plan(project_id: ProjectId, scene_id: SceneId, body: Annotated[PlanEdit, Body()]) -> Scene:
    return projects.edit_plan(project_id, scene_id, body, user_id(app))


@app.post("/api/projects/<project_id>/complete")
def complete(project_id: ProjectId, body: Annotated[EmptyBody, Body()]) -> Project:
    return projects.complete_project(project_id, user_id(app))


@app.get("/api/projects/<project_id>/broll/scenes/<scene_id>/history")
def scene_history(project_id: ProjectId, scene_id: SceneId) -> SceneHistory:
    return clips.scene_history(project_id, scene_id, user_id(app))


@app.post("/api/projects/<project_id>/broll/scenes/<scene_id>/select")
def select_clip(project_id: ProjectId, scene_id: SceneId, body: Annotated[SelectClip, Body()]) -> Scene:
    return clips.select_clip(project_id, scene_id, body.entryId, user_id(app))


@app.put("/api/projects/<project_id>/style")
def set_style(project_id: ProjectId, body: Annotated[StyleBody, Body()]) -> Project:
    style.set_style(project_id, body, user_id(app))
    return projects.read_project(project_id, user_id(app))


@app.post("/api/projects/<project_id>/reopen")
def reopen(project_id: ProjectId, body: Annotated[EmptyBody, Body()]) -> Project:
    return projects.reopen_project(project_id, user_id(app))


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
