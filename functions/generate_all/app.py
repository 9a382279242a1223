"""Generate All: POST …/broll/generate-all (every scene without a clip, within an optional
budget cap and what the credits left cover; 429 when they cover not even the first scene),
GET …/broll/estimate (what that would start and cost), and PUT/DELETE …/broll/schedule (the
same batch later: at a time, or when credits allow)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import budget, generation, schedule
from broll_common.api import ProjectId, lambda_entry, make_resolver, user_id
from broll_common.models.api import (
    ErrorBody, Estimate, GenerateAllRequest, GenerateAllResult, ScheduleRequest, ScheduleView,
)

app = make_resolver()


@app.post(
    "/api/projects/<project_id>/broll/generate-all",
    responses={
        202: {"description": "Scenes queued", "content": {"application/json": {"model": GenerateAllResult}}},
        429: {"description": "The credits left (the daily quota, or Kie's balance) cover not even the first scene; "
                             "nothing was started.", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def generate_all(project_id: ProjectId, body: Annotated[GenerateAllRequest, Body()]):
    result = generation.generate_all(project_id, user_id(app), max_clips=budget.clip_cap(body))
    return result.model_dump(mode="json"), 202


@app.get("/api/projects/<project_id>/broll/estimate")
def estimate(project_id: ProjectId) -> Estimate:
    return budget.estimate(project_id, user_id(app))


@app.put("/api/projects/<project_id>/broll/schedule")
def set_schedule(project_id: ProjectId, body: Annotated[ScheduleRequest, Body()]) -> ScheduleView:
    return schedule.set_schedule(project_id, body, user_id(app))


@app.delete(
    "/api/projects/<project_id>/broll/schedule",
    responses={204: {"description": "No batch is scheduled any more"}},
)
def clear_schedule(project_id: ProjectId):
    schedule.clear_schedule(project_id, user_id(app))
    return Response(status_code=204)


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
