"""Tracing and the product's own figures, one Tracer and one Metrics for the whole package.

Tracer: every handler and every outside call (Kie, Claude, AWS) is a segment in X-Ray
(`Tracing: Active` in template.yaml). Metrics: CloudWatch embedded-metric lines in the
function's log, under the POWERTOOLS_METRICS_NAMESPACE namespace; their names are listed in
docs/METRICS.md, which the dashboard and alarms are built from.

A figure never breaks a request: `emit` and the flush at the end of a handler
(`@metrics.log_metrics`) log what went wrong instead of raising, and hold one lock, since the
local stack runs several handlers of one process at once and they share the metric set.
"""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

__all__ = ["MetricUnit", "emit", "metrics", "tracer"]

NAMESPACE = "BrollStudio"
SERVICE = "broll-studio"

logger = Logger(child=True)


class _GuardedEMF(AmazonCloudWatchEMFProvider):
    """Powertools' EMF provider, made thread-safe and unable to fail the caller."""

    _lock = threading.RLock()

    def add_metric(self, *args, **kwargs) -> None:
        with self._lock:
            try:
                super().add_metric(*args, **kwargs)
            except Exception:  # noqa: BLE001 - a figure never breaks a request
                logger.warning("metric not recorded", exc_info=True)

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        with self._lock:
            if not self.metric_set:
                return  # a handler that counted nothing (a read, a refusal) is normal here: no warning
            try:
                super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)
            except Exception:  # noqa: BLE001
                logger.warning("metrics not flushed", exc_info=True)
                self.clear_metrics()

    def add_cold_start_metric(self, context) -> None:
        try:
            super().add_cold_start_metric(context)
        except Exception:  # noqa: BLE001
            logger.warning("cold-start metric not recorded", exc_info=True)


tracer = Tracer(service=SERVICE)
metrics = Metrics(
    namespace=NAMESPACE, service=SERVICE,
    # Metrics' class-level sets, so every Metrics() in the process still shares one set.
    provider=_GuardedEMF(
        metric_set=Metrics._metrics, dimension_set=Metrics._dimensions, metadata_set=Metrics._metadata,
        default_dimensions=Metrics._default_dimensions, namespace=NAMESPACE, service=SERVICE,
    ),
)


def emit(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    """One figure (a name in docs/METRICS.md). Without dimensions it joins the handler's metric
    set, flushed when the handler ends; with dimensions (e.g. Reason=...) it is written at once
    as a metric of its own, since a metric set's dimensions apply to every metric in it."""
    if not dimensions:
        metrics.add_metric(name=name, unit=unit, value=value)
        return
    try:
        with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE,
                           default_dimensions={"service": SERVICE} | dimensions):
            pass
    except Exception:  # noqa: BLE001 - a figure never breaks a request
        logger.warning("metric not recorded", extra={"metric": name}, exc_info=True)
