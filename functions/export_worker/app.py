"""The Download All worker, invoked asynchronously by GET …/download: packs the ZIP."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common import export
from broll_common.api import logger


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    export.run(event["projectId"], int(event["generation"]))
    return {"ok": True}
