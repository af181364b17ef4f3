"""The arq worker, run for real against the test Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import asyncpg
from arq.connections import RedisSettings, create_pool
from arq.worker import Retry, func

from shopflow.platform.embedded import free_port
from tests.conftest import metric_samples
from workers.settings import FUNCTIONS, HEARTBEAT_KEY, build_worker


async def test_heartbeat_job_runs_on_a_real_worker(settings: Any) -> None:
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    job = await redis.enqueue_job("heartbeat", _job_id="heartbeat-test")
    again = await redis.enqueue_job("heartbeat", _job_id="heartbeat-test")
    assert job is not None and again is None  # deduplicated by job id

    worker = build_worker(settings, burst=True, poll_delay=0.01, cron_jobs=[])
    try:
        await worker.main()
    finally:
        await worker.close()
    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    value = await redis.get(HEARTBEAT_KEY)
    assert value is not None and value.decode().split()[1] == f"{await job.result():.3f}"
    await redis.aclose()


async def slow(ctx: dict[str, Any]) -> None:
    await asyncio.sleep(60)


async def flaky(ctx: dict[str, Any]) -> str:
    if ctx["job_try"] == 1:
        raise Retry()
    return "done"


async def test_worker_metrics_on_its_own_port(make_settings: Any, db: asyncpg.Connection) -> None:
    port = free_port()
    settings = make_settings(host="127.0.0.1", worker_metrics_port=port)
    await db.execute(
        "INSERT INTO job_outbox (function, created_at) VALUES ('refund_order', now() - interval '5 minutes')"
    )
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    await redis.enqueue_job("heartbeat")
    await redis.enqueue_job("run_job", "not-an-id")  # fails
    await redis.enqueue_job("slow")  # cut off by its timeout
    await redis.enqueue_job("flaky")  # asks to be run again, then succeeds
    functions = [*FUNCTIONS, func(slow, timeout=0.2), flaky]
    worker = build_worker(settings, burst=True, poll_delay=0.01, cron_jobs=[], functions=functions)
    try:
        await worker.main()
        await redis.enqueue_job("heartbeat", _defer_by=3600)  # waits in the queue
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
            sample = metric_samples(await resp.text())
    finally:
        await worker.close()
        await redis.aclose()
    jobs = 'worker_jobs_total{{function="{}",outcome="{}"}}'.format
    assert sample[jobs("heartbeat", "success")] == 1 and sample[jobs("heartbeat", "failure")] == 0
    assert sample[jobs("run_job", "failure")] == 1
    assert sample[jobs("slow", "timeout")] == 1 and sample[jobs("slow", "failure")] == 0
    assert sample[jobs("flaky", "retry")] == 1 and sample[jobs("flaky", "success")] == 1
    assert sample['worker_job_duration_seconds_count{function="flaky"}'] == 2
    assert sample['worker_job_duration_seconds_bucket{function="slow",le="0.1"}'] == 0
    assert sample['worker_job_duration_seconds_bucket{function="slow",le="+Inf"}'] == 1
    assert sample["worker_queue_depth"] == 1
    assert sample['outbox_pending{outbox="job"}'] == 1 and sample['outbox_pending{outbox="mail"}'] == 0
    # the age of the row written five minutes back, as the database counted it at the scrape:
    # no less than five minutes, and no more than the database counts now
    oldest = sample['outbox_oldest_pending_age_seconds{outbox="job"}']
    now_aged = await db.fetchval("SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 FROM job_outbox")
    assert 300 <= oldest <= now_aged
    assert sample['outbox_oldest_pending_age_seconds{outbox="mail"}'] == 0
