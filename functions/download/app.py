"""GET /api/projects/{id}/download (Download All): the ZIP's presigned URL when a ZIP of the
project's current content exists (200); otherwise its build starts, or the one under way is
joined, in the export worker (202), and the caller asks again until the URL comes."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import export
from broll_common.api import ProjectId, lambda_entry, make_resolver, user_id
from broll_common.models.api import DownloadView
from broll_common.models.domain import DownloadStatus

app = make_resolver()


@app.get(
    "/api/projects/<project_id>/download",
    responses={
        200: {"description": "The ZIP is ready (url), or its build failed (error; asking again builds it again)",
              "content": {"application/json": {"model": DownloadView}}},
        202: {"description": "The ZIP is being built: ask again", "content": {"application/json": {"model": DownloadView}}},
    },
)
def download(project_id: ProjectId):
    answer = export.request(project_id, user_id(app))
    status = 202 if answer.status == DownloadStatus.BUILDING else 200
    return answer.model_dump(mode="json"), status


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
