"""The poll loop's step (invoked by the state machine) and the scheduled sweep (EventBridge):
repair stuck scenes, then start the Generate All batches that are due."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import generation, schedule
from broll_common.api import lambda_entry, logger


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if event.get("source") == "aws.events" or event.get("action") == "sweep":
        result = generation.sweep() | {"batches": schedule.run_due()}
        logger.info("sweep done", extra=result)  # operators (and the deploy test) see every sweep
        return result
    return generation.poll_step(event)
