"""The media worker, invoked asynchronously when a voice-over or avatar arrives: it fetches a URL
(guarded) or reads an upload, probes it with the packaged ffmpeg, and keeps or refuses it."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import media_jobs
from broll_common.api import lambda_entry


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    media_jobs.run(event["projectId"], event["kind"], int(event["generation"]))
    return {"ok": True}
