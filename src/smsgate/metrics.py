"""Prometheus instruments, one registry per process (no module-level registry)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "smsgate_http_requests",
            "Compatible-API requests by endpoint and outcome (0 = success, else the error code).",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "smsgate_http_request_seconds",
            "Time to answer a compatible-API request.",
            ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )

    def watch_writer(self, stats: Callable[[], tuple[int, int]]) -> None:
        """Export the group-commit writer's transaction and operation counters."""
        self.registry.register(_WriterCollector(stats))


class _WriterCollector(Collector):
    def __init__(self, stats: Callable[[], tuple[int, int]]) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        transactions, operations = self._stats()
        yield CounterMetricFamily(
            "smsgate_writer_transactions", "Group-commit transactions committed.", transactions
        )
        yield CounterMetricFamily(
            "smsgate_writer_operations",
            "Write operations committed in those transactions.",
            operations,
        )
