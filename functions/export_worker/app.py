"""The Download All worker, invoked asynchronously by GET …/download: packs the ZIP."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import export
from broll_common.api import logger
from broll_common.observability import metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    export.run(event["projectId"], int(event["generation"]))
    return {"ok": True}
