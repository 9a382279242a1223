"""POST /api/projects/{id}/broll/cancel: stop waiting for a scene's clip."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import generation
from broll_common.api import ProjectId, lambda_entry, make_resolver, user_id
from broll_common.models.api import SceneRef
from broll_common.models.domain import Scene

app = make_resolver()


@app.post("/api/projects/<project_id>/broll/cancel")
def cancel(project_id: ProjectId, body: Annotated[SceneRef, Body()]) -> Scene:
    return generation.cancel(project_id, body.sceneId, user_id(app))


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
