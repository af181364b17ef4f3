"""Prometheus metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _PoolCollector(Collector):
    """Reads the DB pool's size at scrape time, so requests pay nothing for it."""

    def __init__(self, size: Callable[[], int], in_use: Callable[[], int]) -> None:
        self.size, self.in_use = size, in_use

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("db_pool_size", "Connections open in the DB pool", self.size())
        yield GaugeMetricFamily("db_pool_in_use", "DB pool connections in use", self.in_use())


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            ("method", "route", "status"),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being answered", registry=self.registry
        )
        self.cache = Counter("cache_lookups", "Cache lookups", ("cache", "result"), registry=self.registry)
        self.cache_loads = Counter(
            "cache_loads",
            "Loads from the source after a cache miss",
            ("cache",),
            registry=self.registry,
        )
        # labels() takes a lock and builds a key each call; keep the children instead.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = (method, route, str(status))
            children = self._children[key] = (
                self.requests.labels(*labels),
                self.duration.labels(*labels),
            )
        children[0].inc()
        children[1].observe(seconds)

    def watch_pool(self, size: Callable[[], int], in_use: Callable[[], int]) -> None:
        self.registry.register(_PoolCollector(size, in_use))
