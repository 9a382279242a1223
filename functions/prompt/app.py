"""POST /api/projects/{id}/broll/prompt: write the scene's text-to-video prompt."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import projects
from broll_common.api import ProjectId, logger, make_resolver, user_id
from broll_common.models.api import SceneRef
from broll_common.models.domain import Scene
from broll_common.observability import metrics, tracer

app = make_resolver()


@app.post("/api/projects/<project_id>/broll/prompt")
def prompt(project_id: ProjectId, body: Annotated[SceneRef, Body()]) -> Scene:
    return projects.generate_prompt(project_id, body.sceneId, user_id(app))


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
