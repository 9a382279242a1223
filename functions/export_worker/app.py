"""The Download All worker, invoked asynchronously by GET …/download: packs the ZIP."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import export
from broll_common.api import lambda_entry


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    export.run(event["projectId"], int(event["generation"]))
    return {"ok": True}
