"""Prometheus metrics with asynq's names (asynq x/metrics), so existing Grafana dashboards work.

`QueueMetricsCollector` reads the Inspector at every scrape, as asynq's collector does;
`metrics_app(inspector)` is the ASGI app the HTTP API mounts at /metrics, and `serve_metrics`
runs it standalone (`dmq metrics --port 9090`). Needs the `metrics` extra (prometheus-client).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, make_asgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .inspector import Inspector
from .models import QueueInfo

__all__ = ["STATES", "QueueMetricsCollector", "metrics_app", "metrics_registry", "serve_metrics"]

log = logging.getLogger(__name__)

#: The states asynq's collector reports under asynq_tasks_enqueued_total{state=...}.
STATES = ("active", "pending", "scheduled", "retry", "archived", "completed")


class QueueMetricsCollector(Collector):
    """asynq's QueueMetricsCollector: one Inspector read per scrape, asynq's names and labels."""

    def __init__(self, inspector: Inspector) -> None:
        self.inspector = inspector

    def _infos(self) -> list[QueueInfo]:
        try:
            return list(self.inspector.queue_infos())
        except Exception as exc:  # noqa: BLE001 - a scrape during an outage yields nothing, like asynq's
            log.warning("failed to collect metrics data: %s", exc)
            return []

    def collect(self) -> Iterator[Metric]:
        infos = self._infos()
        enqueued = GaugeMetricFamily("asynq_tasks_enqueued_total",
                                     "Number of tasks enqueued; broken down by queue and state.",
                                     labels=["queue", "state"])
        size = GaugeMetricFamily("asynq_queue_size", "Number of tasks in a queue", labels=["queue"])
        latency = GaugeMetricFamily(
            "asynq_queue_latency_seconds",
            "Number of seconds the oldest pending task is waiting in pending state to be processed.",
            labels=["queue"])
        memory = GaugeMetricFamily("asynq_queue_memory_usage_approx_bytes",
                                   "Number of memory used by a given queue (approximated number by sampling).",
                                   labels=["queue"])
        processed = CounterMetricFamily("asynq_tasks_processed_total",
                                        "Number of tasks processed (both succeeded and failed); broken down by queue",
                                        labels=["queue"])
        failed = CounterMetricFamily("asynq_tasks_failed_total",
                                     "Number of tasks failed; broken down by queue", labels=["queue"])
        paused = GaugeMetricFamily("asynq_queue_paused_total", "Number of queues paused", labels=["queue"])
        for i in infos:
            for state in STATES:
                enqueued.add_metric([i.queue, state], float(getattr(i, state)))
            size.add_metric([i.queue], float(i.size))
            latency.add_metric([i.queue], i.latency.total_seconds())
            memory.add_metric([i.queue], float(i.memory_usage))
            processed.add_metric([i.queue], float(i.processed_total))
            failed.add_metric([i.queue], float(i.failed_total))
            paused.add_metric([i.queue], 1.0 if i.paused else 0.0)
        yield from (enqueued, size, latency, memory, processed, failed, paused)

    def describe(self) -> list[Metric]:
        return []  # unchecked collector: register without a scrape of Redis


def metrics_registry(inspector: Inspector) -> CollectorRegistry:
    """A registry holding only the queue collector (no process metrics of this Python)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueMetricsCollector(inspector))
    return registry


def metrics_app(inspector: Inspector) -> Any:
    """ASGI app answering Prometheus scrapes (mount it at /metrics)."""
    return make_asgi_app(registry=metrics_registry(inspector))


def serve_metrics(inspector: Inspector, host: str = "127.0.0.1", port: int = 9090) -> tuple[Any, Any]:
    """Serve /metrics on a background thread; returns (server, thread) — `server.shutdown()` stops it."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=host, registry=metrics_registry(inspector))
