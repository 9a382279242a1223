"""POST /api/projects/{id}/broll/generate: start (or join) one scene's clip."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import generation
from broll_common.api import ProjectId, logger, make_resolver, user_id
from broll_common.models.api import GenerateRequest
from broll_common.models.domain import Scene
from broll_common.observability import metrics, tracer

app = make_resolver()


@app.post(
    "/api/projects/<project_id>/broll/generate",
    responses={202: {"description": "Generation started, or joined", "content": {"application/json": {"model": Scene}}}},
)
def generate(project_id: ProjectId, body: Annotated[GenerateRequest, Body()]):
    scene = generation.start_generation(project_id, body.sceneId, regenerate=body.regenerate, owner=user_id(app))
    return scene.model_dump(mode="json"), 202


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
