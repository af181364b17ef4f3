"""The arq worker, run for real against the test Redis and PostgreSQL."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings, create_pool

from workers.settings import HEARTBEAT_KEY, build_worker


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
