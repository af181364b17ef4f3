"""Metrics summed over the snapshots of several processes."""

from __future__ import annotations

from shopflow.platform.metrics import Metrics


def _process(requests: int, in_flight: float, up: float) -> Metrics:
    """The metrics of one process that answered `requests` requests to /healthz."""
    metrics = Metrics()
    for _ in range(requests):
        metrics.observe("GET", "/healthz", 200, 0.002)
    metrics.cache_hit("product")
    metrics.counter("orders_placed", "Orders placed", ("provider",)).inc("manual", amount=requests)
    metrics.histogram("job_seconds", "Job time", ("function",), (1.0, 10.0)).observe(("mail",), 5.0)
    metrics.gauge("http_requests_in_flight", "Requests being answered", lambda: in_flight)
    metrics.gauge("redis_up", "Redis answers", lambda: up, aggregate="min")
    return metrics


def test_counters_and_histograms_add_up_and_gauges_aggregate_over_running_processes() -> None:
    one, two, gone = _process(3, 1, 1), _process(4, 2, 0), _process(5, 7, 1).snapshot()
    del gone["gauges"]  # as a process group reads the file of a process that exited
    text = one.render([one.snapshot(), two.snapshot(), gone], {"running": 2, "exited": 1}).decode()
    assert 'http_requests_total{method="GET",route="/healthz",status="200"} 12.0' in text
    assert (
        'http_request_duration_seconds_bucket{le="0.0025",method="GET",route="/healthz",status="200"} 12.0'
        in text
    )
    assert 'cache_lookups_total{cache="product",result="hit"} 3.0' in text
    assert 'orders_placed_total{provider="manual"} 12.0' in text
    assert 'job_seconds_bucket{function="mail",le="1.0"} 0.0' in text
    assert 'job_seconds_bucket{function="mail",le="10.0"} 3.0' in text
    assert 'job_seconds_sum{function="mail"} 15.0' in text
    assert "http_requests_in_flight 3.0" in text  # summed over the two that run
    assert "redis_up 0.0" in text  # the least of them
    assert 'metrics_processes{state="exited"} 1.0' in text


async def test_one_process_alone_needs_no_directory() -> None:
    metrics = _process(2, 0, 1)
    text = (await metrics.exposition()).decode()
    assert 'http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert "metrics_processes" not in text
