"""The poll loop's step (invoked by the state machine) and the scheduled sweep (EventBridge)."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common import generation
from broll_common.api import logger


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if event.get("source") == "aws.events" or event.get("action") == "sweep":
        return generation.sweep()
    return generation.poll_step(event)
