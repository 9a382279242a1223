"""POST /api/projects/{id}/broll/generate-all: every scene without a finished clip."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common import generation
from broll_common.api import ProjectId, logger, make_resolver, user_id
from broll_common.models import EmptyBody, GenerateAllResult

app = make_resolver()


@app.post(
    "/api/projects/<project_id>/broll/generate-all",
    responses={202: {"description": "Scenes queued", "content": {"application/json": {"model": GenerateAllResult}}}},
)
def generate_all(project_id: ProjectId, body: Annotated[EmptyBody, Body()]):
    return generation.generate_all(project_id, user_id(app)).model_dump(mode="json"), 202


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
