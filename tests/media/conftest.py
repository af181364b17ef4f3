"""Media storage for the tests: a local directory, or a bucket on moto's S3 server.

The S3 server (moto's, in a thread) speaks the real protocol over HTTP and lives for the
session; each test gets its own bucket.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvloop
from moto.server import ThreadedMotoServer

from shopflow.media.local import LocalStorage
from shopflow.media.s3 import S3Options, S3Storage
from shopflow.media.storage import Storage

BACKENDS = ["local", "s3"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_loops: run on asyncio's event loop and on uvloop's")


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Any:
    """uvloop, as `shopflow serve` runs, beside asyncio's for the tests marked both_loops:
    uvloop has no sendfile, so files take another way out."""
    if item.get_closest_marker("both_loops") is None:
        return {"asyncio": asyncio.new_event_loop}
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


REGION = "us-east-1"
KEY_ID, SECRET = "testing", "testing"  # moto accepts any


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_url: str) -> str:
    """A new, empty bucket."""
    name = f"media-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client(
        "s3", endpoint_url=s3_url, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name=REGION
    )
    s3.create_bucket(Bucket=name)
    s3.close()
    return name


def s3_options(s3_url: str, bucket: str, **more: Any) -> S3Options:
    return S3Options(
        bucket=bucket,
        region=REGION,
        endpoint_url=s3_url,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        **more,
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    """Where uploads are spooled (the local root's tmp/, or S3's temporary directory)."""
    return tmp_path / "media" / "tmp"


@pytest.fixture
async def storage(
    backend: str, tmp_path: Path, spool_dir: Path, s3_url: str, bucket: str
) -> AsyncIterator[Storage]:
    if backend == "local":
        yield LocalStorage(tmp_path / "media", durable=False)
        return
    os.makedirs(spool_dir)
    async with S3Storage.connect(s3_options(s3_url, bucket, tmp_dir=spool_dir)) as s3:
        yield s3


@pytest.fixture
def media_settings(backend: str, tmp_path: Path, s3_url: str, bucket: str) -> dict[str, Any]:
    """The settings that put an app's media on `backend`."""
    if backend == "local":
        return {"media_local_dir": tmp_path / "media"}
    return {
        "media_storage": "s3",
        "media_s3_bucket": bucket,
        "media_s3_endpoint_url": s3_url,
        "media_s3_access_key_id": KEY_ID,
        "media_s3_secret_access_key": SECRET,
    }


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def random_bytes(n: int) -> bytes:
    return os.urandom(n)
