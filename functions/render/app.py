"""The composite video: POST /api/projects/{id}/render starts it, GET shows how it stands, PUT
…/layout sets how it cuts the B-roll in and its captions."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import layout_settings, projects, render
from broll_common.api import ProjectId, lambda_entry, make_resolver, user_id
from broll_common.models.api import EmptyBody, LayoutBody, Project, RenderAnswer

app = make_resolver()


@app.post(
    "/api/projects/<project_id>/render",
    responses={202: {"description": "Rendering (or already made)", "content": {"application/json": {"model": RenderAnswer}}}},
)
def start_render(project_id: ProjectId, body: Annotated[EmptyBody, Body()]):
    return RenderAnswer(render=render.start(project_id, user_id(app))).model_dump(mode="json"), 202


@app.get("/api/projects/<project_id>/render")
def render_status(project_id: ProjectId) -> RenderAnswer:
    return RenderAnswer(render=projects.render_status(project_id, user_id(app)))


@app.put("/api/projects/<project_id>/layout")
def set_layout(project_id: ProjectId, body: Annotated[LayoutBody, Body()]) -> Project:
    return layout_settings.set_layout(project_id, body, user_id(app))


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
