"""The poll loop's step, invoked by the state machine: ask Kie once, settle the scene or plan
the next wait. (The scheduled sweep is functions/sweep.)"""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import generation
from broll_common.api import lambda_entry


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return generation.poll_step(event)
