"""Prometheus metrics, counted in plain dicts on the hot path and turned into metric
families only when /metrics is scraped. One registry per app, so apps can share a process.

    http_requests_total{method,route,status}             counter
    http_request_duration_seconds{method,route,status}   histogram
    http_requests_in_flight                              gauge
    db_pool_size, db_pool_in_use                         gauges
    cache_lookups_total{cache,result}                    counter (hit, redis_hit, miss)
    cache_loads_total{cache}                             counter (loads from the source)
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
Gauge = Callable[[], float]


class _Series:
    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one is +Inf


class Metrics(Collector):
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._http: dict[tuple[str, str, int], _Series] = {}
        self._cache = Counter[tuple[str, str]]()
        self._loads = Counter[str]()
        self._gauges: dict[str, tuple[str, Gauge]] = {}
        self.registry.register(self)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._http.get((method, route, status))
        if series is None:
            series = self._http[method, route, status] = _Series()
        series.count += 1
        series.total += seconds
        series.buckets[bisect_left(BUCKETS, seconds)] += 1

    def cache_hit(self, cache: str, tier: str = "local") -> None:
        self._cache[cache, "hit" if tier == "local" else "redis_hit"] += 1

    def cache_load(self, cache: str) -> None:
        self._cache[cache, "miss"] += 1
        self._loads[cache] += 1

    def gauge(self, name: str, documentation: str, read: Gauge) -> None:
        """A gauge read at scrape time, so the hot path pays nothing for it."""
        self._gauges[name] = (documentation, read)

    def collect(self) -> Iterator[Metric]:
        labels = ("method", "route", "status")
        requests = CounterMetricFamily("http_requests", "HTTP requests answered", labels=labels)
        duration = HistogramMetricFamily(
            "http_request_duration_seconds", "Time to answer an HTTP request", labels=labels
        )
        for (method, route, status), s in list(self._http.items()):
            values = [method, route, str(status)]
            requests.add_metric(values, s.count)
            cumulative, buckets = 0, []
            for bound, n in zip((*map(str, BUCKETS), "+Inf"), s.buckets, strict=True):
                cumulative += n
                buckets.append((bound, cumulative))
            duration.add_metric(values, buckets, s.total)
        yield requests
        yield duration
        lookups = CounterMetricFamily("cache_lookups", "Cache lookups", labels=("cache", "result"))
        for (cache, result), n in list(self._cache.items()):
            lookups.add_metric([cache, result], n)
        yield lookups
        loads = CounterMetricFamily("cache_loads", "Loads from the source after a miss", labels=("cache",))
        for cache, n in list(self._loads.items()):
            loads.add_metric([cache], n)
        yield loads
        for name, (documentation, read) in self._gauges.items():
            yield GaugeMetricFamily(name, documentation, read())
