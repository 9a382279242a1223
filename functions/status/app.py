"""GET /api/projects/{id}/broll/status/{taskId}[?sceneIndex=n]: where one task's scene stands."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import projects
from broll_common.api import ProjectId, TaskIdParam, lambda_entry, make_resolver, user_id
from broll_common.models.api import TaskStatus

app = make_resolver()


@app.get("/api/projects/<project_id>/broll/status/<task_id>")
def status(
    project_id: ProjectId,
    task_id: TaskIdParam,
    scene_index: Annotated[int | None, Query(alias="sceneIndex", ge=0, le=59, description="The scene's place, if known")] = None,
) -> TaskStatus:
    return projects.task_status(project_id, task_id, user_id(app), scene_index)


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
