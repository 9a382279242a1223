"""The render worker, invoked asynchronously by POST …/render: ffmpeg cuts the composite."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common import render
from broll_common.api import logger


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    render.run(event["projectId"], int(event["generation"]))
    return {"ok": True}
