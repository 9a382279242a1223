"""Media routes: a presigned upload form for the voice-over or the avatar, taking an uploaded
file or a URL (the media worker fetches and probes it), and taking the voice-over's real length."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.api import ProjectId, lambda_entry, make_resolver, user_id
from broll_common.logic import media_jobs, projects, timings
from broll_common.models.api import EmptyBody, MediaKind, MediaSource, Project, UploadForm, UploadRequest

app = make_resolver()


@app.post("/api/projects/<project_id>/uploads")
def upload_form(project_id: ProjectId, body: Annotated[UploadRequest, Body()]) -> UploadForm:
    return media_jobs.upload_form(project_id, body, user_id(app))


@app.post(
    "/api/projects/<project_id>/media/<kind>",
    responses={202: {"description": "Being fetched or checked", "content": {"application/json": {"model": Project}}}},
)
def take_media(project_id: ProjectId, kind: Annotated[MediaKind, Path()], body: Annotated[MediaSource, Body()]):
    media_jobs.start(project_id, kind, body, user_id(app))
    return projects.read_project(project_id, user_id(app)).model_dump(mode="json"), 202


@app.post("/api/projects/<project_id>/media/voiceover/use-file-duration")
def use_file_duration(project_id: ProjectId, body: Annotated[EmptyBody, Body()]) -> Project:
    return timings.use_file_duration(project_id, user_id(app))


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
