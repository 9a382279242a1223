"""The render worker, invoked asynchronously by POST …/render: ffmpeg cuts the composite."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import render
from broll_common.api import logger
from broll_common.observability import metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    render.run(event["projectId"], int(event["generation"]))
    return {"ok": True}
