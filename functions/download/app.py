"""GET /api/projects/{id}/download: a presigned URL to the project's ZIP (Download All)."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common import export
from broll_common.api import ProjectId, logger, make_resolver, user_id
from broll_common.models import DownloadLink

app = make_resolver()


@app.get("/api/projects/<project_id>/download")
def download(project_id: ProjectId) -> DownloadLink:
    return DownloadLink(url=export.download_url(project_id, user_id(app)))


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
