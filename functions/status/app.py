"""GET /api/projects/{id}/broll/status/{taskId}: where one task's scene stands."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common import projects
from broll_common.api import ProjectId, TaskIdParam, logger, make_resolver, user_id
from broll_common.models import TaskStatus

app = make_resolver()


@app.get("/api/projects/<project_id>/broll/status/<task_id>")
def status(project_id: ProjectId, task_id: TaskIdParam) -> TaskStatus:
    return projects.task_status(project_id, task_id, user_id(app))


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
