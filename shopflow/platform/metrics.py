"""Prometheus metrics, counted in plain dicts on the hot path and turned into metric
families only when /metrics is scraped. One registry per app, so apps can share a process.

    http_requests_total{method,route,status}             counter
    http_request_duration_seconds{method,route,status}   histogram
    http_requests_in_flight                              gauge
    db_pool_size, db_pool_in_use                         gauges
    cache_lookups_total{cache,result}                    counter (hit, redis_hit, miss)
    cache_loads_total{cache}                             counter (loads from the source)

Components add their own families with `counter`, `histogram` and `gauge`. A scrape turns
what was counted into a snapshot (plain lists, JSON-able), so that the processes of one
`serve --workers N` can sum theirs (metrics_group.py): counters and histograms add up,
and a gauge, read at scrape time, is summed over the processes still running (or its
minimum or maximum, as it was registered).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .metrics_group import ProcessGroup

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_DURATION = "http_request_duration_seconds"
Labels = tuple[str, ...]
Aggregate = Literal["sum", "min", "max"]
Gauge = Callable[[], float]
# What one process counted, as plain lists: {"counters": {name: [[labels, value]]},
# "histograms": {name: [[labels, count, total, buckets]]}, "gauges": {name: [[labels, value]]}}
Snapshot = dict[str, Any]
AGGREGATES: dict[str, Callable[[Iterable[float]], float]] = {"sum": sum, "min": min, "max": max}


class _Series:
    __slots__ = ("buckets", "count", "total")

    def __init__(self, size: int = len(BUCKETS) + 1) -> None:
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * size  # the last one is +Inf


class Counter:
    """A counter family: how much was counted under each tuple of label values."""

    __slots__ = ("documentation", "labels", "name", "values")

    def __init__(self, name: str, documentation: str, labels: Labels) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.values = Tally[Labels]()

    def inc(self, *labels: str, amount: int = 1) -> None:
        self.values[labels] += amount


class Histogram:
    """A histogram family with fixed bucket bounds, one series per tuple of label values."""

    __slots__ = ("bounds", "documentation", "labels", "name", "series")

    def __init__(self, name: str, documentation: str, labels: Labels, bounds: tuple[float, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.bounds = bounds
        self.series: dict[Labels, _Series] = {}

    def observe(self, labels: Labels, value: float) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = _Series(len(self.bounds) + 1)
        series.count += 1
        series.total += value
        series.buckets[bisect_left(self.bounds, value)] += 1


@dataclass(frozen=True)
class _Gauge:
    documentation: str
    labels: Labels
    read: Callable[[], Mapping[Labels, float]]
    aggregate: Aggregate


class Metrics:
    def __init__(self) -> None:
        self._http: dict[tuple[str, str, int], _Series] = {}
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._gauges: dict[str, _Gauge] = {}
        self._cache = self.counter("cache_lookups", "Cache lookups", ("cache", "result")).values
        self._loads = self.counter("cache_loads", "Loads from the source after a miss", ("cache",)).values
        self.group: ProcessGroup | None = None  # the processes whose counts a scrape sums

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
        self._loads[(cache,)] += 1

    def counter(self, name: str, documentation: str, labels: Labels = ()) -> Counter:
        """A counter family, exposed as `<name>_total`."""
        family = self._counters[name] = Counter(name, documentation, labels)
        return family

    def histogram(
        self, name: str, documentation: str, labels: Labels = (), bounds: tuple[float, ...] = BUCKETS
    ) -> Histogram:
        family = self._histograms[name] = Histogram(name, documentation, labels, bounds)
        return family

    def gauge(self, name: str, documentation: str, read: Gauge, aggregate: Aggregate = "sum") -> None:
        """A gauge read at scrape time, so the hot path pays nothing for it."""
        self._gauges[name] = _Gauge(documentation, (), lambda: {(): read()}, aggregate)

    def gauges(
        self,
        name: str,
        documentation: str,
        labels: Labels,
        read: Callable[[], Mapping[Labels, float]],
        aggregate: Aggregate = "sum",
    ) -> None:
        """A gauge family read at scrape time: label values → value."""
        self._gauges[name] = _Gauge(documentation, labels, read, aggregate)

    def snapshot(self) -> Snapshot:
        """What this process has counted, and its gauges now."""
        http = [[[m, r, str(s)], v.count, v.total, v.buckets] for (m, r, s), v in list(self._http.items())]
        histograms = {
            name: [[list(k), v.count, v.total, v.buckets] for k, v in list(h.series.items())]
            for name, h in self._histograms.items()
        }
        return {
            "counters": {
                name: [[list(k), v] for k, v in list(c.values.items())] for name, c in self._counters.items()
            },
            "histograms": {HTTP_DURATION: http, **histograms},
            "gauges": {name: [[list(k), v] for k, v in g.read().items()] for name, g in self._gauges.items()},
        }

    async def exposition(self) -> bytes:
        """The Prometheus text a scrape gets: this process's, or its group's summed."""
        if self.group is None:
            return self.render([self.snapshot()])
        return self.render(*await self.group.gather())

    def render(self, snapshots: list[Snapshot], processes: Mapping[str, int] | None = None) -> bytes:
        """The Prometheus text of the snapshots summed, and of how many processes they are."""
        families = self.families(snapshots)
        if processes is not None:
            counted = GaugeMetricFamily(
                "metrics_processes",
                "Processes whose counts this answer sums: running, or exited (their last counts kept)",
                labels=("state",),
            )
            for state, n in processes.items():
                counted.add_metric([state], n)
            families.append(counted)
        return generate_latest(_Families([f for f in families if f.samples]))  # none: say nothing

    def families(self, snapshots: list[Snapshot]) -> list[Metric]:
        """Metric families of the snapshots summed; a gauge is missing from the snapshot of a
        process that has exited, since what it held is gone."""
        counters: dict[str, Tally[Labels]] = {}
        histograms: dict[str, dict[Labels, _Series]] = {}
        gauges: dict[str, dict[Labels, list[float]]] = {}
        for snapshot in snapshots:
            for name, values in snapshot.get("counters", {}).items():
                tally = counters.setdefault(name, Tally())
                for labels, value in values:
                    tally[tuple(labels)] += value
            for name, values in snapshot.get("histograms", {}).items():
                _add_series(histograms.setdefault(name, {}), values)
            for name, values in snapshot.get("gauges", {}).items():
                readings = gauges.setdefault(name, {})
                for labels, value in values:
                    readings.setdefault(tuple(labels), []).append(value)
        return [
            *self._http_families(histograms.get(HTTP_DURATION, {})),
            *self._counter_families(counters),
            *self._histogram_families(histograms),
            *self._gauge_families(gauges),
        ]

    def _http_families(self, series: dict[Labels, _Series]) -> Iterator[Metric]:
        labels = ("method", "route", "status")
        requests = CounterMetricFamily("http_requests", "HTTP requests answered", labels=labels)
        duration = HistogramMetricFamily(HTTP_DURATION, "Time to answer an HTTP request", labels=labels)
        for values, s in series.items():
            requests.add_metric(values, s.count)
            duration.add_metric(values, _cumulative(BUCKETS, s), s.total)
        yield requests
        yield duration

    def _counter_families(self, counters: dict[str, Tally[Labels]]) -> Iterator[Metric]:
        for name, c in self._counters.items():
            family = CounterMetricFamily(name, c.documentation, labels=c.labels)
            for values, n in counters.get(name, {}).items():
                family.add_metric(values, n)
            yield family

    def _histogram_families(self, histograms: dict[str, dict[Labels, _Series]]) -> Iterator[Metric]:
        for name, h in self._histograms.items():
            family = HistogramMetricFamily(name, h.documentation, labels=h.labels)
            for values, s in histograms.get(name, {}).items():
                family.add_metric(values, _cumulative(h.bounds, s), s.total)
            yield family

    def _gauge_families(self, gauges: dict[str, dict[Labels, list[float]]]) -> Iterator[Metric]:
        for name, g in self._gauges.items():
            family = GaugeMetricFamily(name, g.documentation, labels=g.labels)
            for values, readings in gauges.get(name, {}).items():
                family.add_metric(values, AGGREGATES[g.aggregate](readings))
            yield family


def _add_series(into: dict[Labels, _Series], values: list[list[Any]]) -> None:
    for labels, count, total, buckets in values:
        series = into.get(key := tuple(labels))
        if series is None:
            series = into[key] = _Series(len(buckets))
        series.count += count
        series.total += total
        series.buckets = [a + b for a, b in zip(series.buckets, buckets, strict=True)]


def _cumulative(bounds: tuple[float, ...], series: _Series) -> list[tuple[str, float]]:
    cumulative, buckets = 0, list[tuple[str, float]]()
    for bound, n in zip((*map(str, bounds), "+Inf"), series.buckets, strict=True):
        cumulative += n
        buckets.append((bound, cumulative))
    return buckets


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)
