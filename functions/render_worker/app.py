"""The render worker, invoked asynchronously by POST …/render: ffmpeg cuts the composite."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import render
from broll_common.api import lambda_entry


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    render.run(event["projectId"], int(event["generation"]))
    return {"ok": True}
