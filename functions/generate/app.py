"""POST /api/projects/{id}/broll/generate: start (or join) one scene's clip."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import generation
from broll_common.api import ProjectId, lambda_entry, make_resolver, user_id
from broll_common.models.api import ErrorBody, GenerateRequest
from broll_common.models.domain import Scene

app = make_resolver()


@app.post(
    "/api/projects/<project_id>/broll/generate",
    responses={
        202: {"description": "Generation started, or joined", "content": {"application/json": {"model": Scene}}},
        429: {"description": "The daily credit quota does not cover this scene's clips; nothing was started.",
              "content": {"application/json": {"model": ErrorBody}}},
    },
)
def generate(project_id: ProjectId, body: Annotated[GenerateRequest, Body()]):
    scene = generation.start_generation(project_id, body.sceneId, regenerate=body.regenerate, owner=user_id(app))
    return scene.model_dump(mode="json"), 202


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
