"""Media bytes in an S3 bucket (or an S3-compatible store) through aioboto3, signed SigV4.

Uploads are spooled to the system's temporary directory, then put once under their content
key with a conditional write (`If-None-Match: *`), so two processes storing the same bytes
at once learn which of them stored them. At most `max_connections` requests to S3 run at
once per process; more wait their turn rather than fail, so the origin answers every
request.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..platform.settings import Settings
from .storage import ObjectMissing, Original, Spooled, StorageUnavailable, check_key, spool_to

CHUNK_BYTES = 64 * 1024  # a piece of a body streamed from S3
DELETE_BATCH = 1000  # keys S3 deletes in one request at most
MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
IMMUTABLE = "public, max-age=31536000, immutable"  # for a CDN in front of the bucket itself


@dataclass(frozen=True)
class S3Options:
    bucket: str
    region: str = "us-east-1"
    endpoint_url: str = ""  # empty: AWS
    access_key_id: str = ""  # empty: the standard AWS chain
    secret_access_key: str = ""
    max_connections: int = 64
    max_attempts: int = 3  # of each request, with backoff, when S3 fails or is out of reach
    tmp_dir: Path | None = None  # where uploads are spooled; None: the system's

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Options:
        return cls(
            bucket=settings.media_s3_bucket,
            region=settings.media_s3_region,
            endpoint_url=settings.media_s3_endpoint_url,
            access_key_id=settings.media_s3_access_key_id.get_secret_value(),
            secret_access_key=settings.media_s3_secret_access_key.get_secret_value(),
            max_connections=settings.media_s3_max_connections,
        )


def _missing(e: ClientError) -> bool:
    return str(e.response.get("Error", {}).get("Code")) in MISSING


def _status(e: BaseException | None) -> int:
    if not isinstance(e, ClientError):
        return 0
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


@dataclass(frozen=True)
class S3Blob:
    size: int
    storage: S3Storage
    key: str
    file: BinaryIO | None = None  # the bytes are remote: no sendfile
    data: bytes | None = None  # nor in memory

    async def chunks(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        if count <= 0:
            return
        async with self.storage.slots:  # held while the body streams: it holds a connection
            resp = await self.storage.request(
                "get_object", Key=self.key, Range=f"bytes={offset}-{offset + count - 1}"
            )
            body = resp["Body"]  # entering it answers the raw response: keep the wrapper
            async with body:
                async for chunk in body.iter_chunks(CHUNK_BYTES):
                    yield chunk


class S3Storage:
    """Media in one bucket; open it with `S3Storage.connect(options)`."""

    def __init__(self, client: Any, options: S3Options) -> None:
        self.client = client
        self.bucket = options.bucket
        self.tmp = options.tmp_dir or Path(tempfile.gettempdir())
        self.slots = asyncio.Semaphore(options.max_connections)

    @classmethod
    @asynccontextmanager
    async def connect(cls, options: S3Options) -> AsyncIterator[S3Storage]:
        session = aioboto3.Session(
            aws_access_key_id=options.access_key_id or None,
            aws_secret_access_key=options.secret_access_key or None,
            region_name=options.region,
        )
        config = Config(
            signature_version="s3v4",
            max_pool_connections=options.max_connections,
            connect_timeout=5,
            read_timeout=30,
            retries={"mode": "standard", "max_attempts": options.max_attempts},
            # Originals carry their own SHA-256 (S3 checks it); nothing else is hashed twice.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # S3-compatible stores mostly want the bucket in the path; AWS in the host name.
            s3={"addressing_style": "path" if options.endpoint_url else "virtual"},
        )
        async with session.client("s3", endpoint_url=options.endpoint_url or None, config=config) as client:
            yield cls(client, options)

    async def request(self, operation: str, **params: Any) -> Any:
        """One S3 call on the bucket; ObjectMissing for a key it does not have,
        StorageUnavailable when S3 fails or cannot be reached (after botocore's retries)."""
        try:
            return await getattr(self.client, operation)(Bucket=self.bucket, **params)
        except ClientError as e:
            if _missing(e):
                raise ObjectMissing(str(params.get("Key"))) from None
            if _status(e) >= 500:
                raise StorageUnavailable(f"S3 answered {_status(e)} to {operation}", retry_after=5) from e
            raise
        except BotoCoreError as e:  # no connection, timeouts
            raise StorageUnavailable(f"S3 did not answer {operation}: {e}", retry_after=5) from e

    def spool(self, chunks: AsyncIterable[bytes], max_bytes: int) -> AbstractAsyncContextManager[Spooled]:
        return spool_to(self.tmp, chunks, max_bytes)

    async def keep(self, spooled: Spooled) -> Original:
        key = spooled.key
        created = not await self.exists(key) and await self._put_new(spooled)
        return Original(key, spooled.sha256, spooled.size, created)

    async def _put_new(self, spooled: Spooled) -> bool:
        """Put the spooled file unless the key exists; whether this put it there."""
        try:
            await self._put_file(spooled, IfNoneMatch="*")
        except ClientError as e:
            if _status(e) == 412:  # the same bytes arrived meanwhile
                return False
            raise
        except StorageUnavailable as e:
            if _status(e.__cause__) != 501:
                raise
            await self._put_file(spooled)  # a store without conditional writes: the check above did
        return True

    async def _put_file(self, spooled: Spooled, **condition: str) -> None:
        checksum = base64.b64encode(bytes.fromhex(spooled.sha256)).decode()
        file = await asyncio.to_thread(spooled.path.open, "rb")
        try:
            async with self.slots:
                await self.request(
                    "put_object",
                    Key=spooled.key,
                    Body=file,
                    ContentLength=spooled.size,
                    ContentType="application/octet-stream",
                    ChecksumSHA256=checksum,
                    **condition,
                )
        finally:
            file.close()

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        async with self.slots:
            await self.request(
                "put_object", Key=check_key(key), Body=data, ContentType=content_type, CacheControl=IMMUTABLE
            )

    async def get(self, key: str) -> bytes:
        async with self.slots:
            resp = await self.request("get_object", Key=check_key(key))
            body = resp["Body"]
            async with body:
                data: bytes = await body.read()  # the wrapper's read checks the length
                return data

    async def exists(self, key: str) -> bool:
        with contextlib.suppress(ObjectMissing):
            async with self.slots:
                await self.request("head_object", Key=check_key(key))
            return True
        return False

    async def delete(self, keys: Iterable[str]) -> None:
        objects = [{"Key": check_key(key)} for key in keys]
        for start in range(0, len(objects), DELETE_BATCH):
            async with self.slots:
                resp = await self.request(
                    "delete_objects", Delete={"Objects": objects[start : start + DELETE_BATCH], "Quiet": True}
                )
            if errors := resp.get("Errors"):
                raise OSError(f"S3 did not delete {len(errors)} objects, e.g. {errors[0]}")

    @asynccontextmanager
    async def open(self, key: str) -> AsyncIterator[S3Blob]:
        async with self.slots:
            head = await self.request("head_object", Key=check_key(key))
        yield S3Blob(int(head["ContentLength"]), self, key)
