"""The scheduled sweep (EventBridge, every SweepSchedule): repair stuck scenes, start the
Generate All batches that are due, and report the queue and Kie's circuit for the alarms."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.api import lambda_entry, logger
from broll_common.clients import breaker
from broll_common.logic import sweep
from broll_common.observability import MetricUnit, emit


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    result = sweep.run()
    result["breakerOpenSeconds"] = breaker.open_seconds()
    logger.info("sweep done", extra=result)  # operators (and the deploy test) see every sweep
    # Gauges: one point per sweep, so the alarms see a value even when nothing happens.
    emit("QueueDepth", MetricUnit.Count, result.get("queued", 0))
    emit("BreakerOpenSeconds", MetricUnit.Seconds, result["breakerOpenSeconds"])
    return result
