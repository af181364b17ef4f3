"""The `shopflow` command: serve, worker, migrate, seed, user, media, dev."""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg

from .platform.embedded import EmbeddedServerError
from .platform.errors import AppError
from .platform.logs import setup_logging
from .platform.migrate import MigrationError, migrate, status
from .platform.settings import Settings, SettingsError, load_settings
from .server import run, serve, serve_processes

if TYPE_CHECKING:
    from .supervisor import Child

log = logging.getLogger("shopflow")
M_ARENA_MAX = -8  # glibc's mallopt parameter


def cmd_serve(args: argparse.Namespace) -> None:
    settings = load_settings()
    host, port = args.host or settings.host, args.port or settings.port
    if args.workers == 1:
        run(serve(settings, host, port, reuse_port=False))
    else:
        sys.exit(serve_processes(host, port, args.workers))


async def _work(settings: Settings) -> None:
    from workers.settings import build_worker

    worker = build_worker(settings)
    try:
        await worker.async_run()  # SIGINT/SIGTERM cancel it
    except asyncio.CancelledError:
        pass
    finally:
        await worker.close()


def cmd_worker(args: argparse.Namespace) -> None:
    _few_malloc_arenas()
    run(_work(_require_urls(load_settings())))


def _few_malloc_arenas() -> None:
    """glibc gives threads that allocate at once arenas of their own (up to 8 per core), and
    memory freed in libvips' threads stays in them: two keep a worker's RSS near its use."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return  # glibc read it at start
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to set
    libc.mallopt(M_ARENA_MAX, 2)


def _require_urls(settings: Settings) -> Settings:
    if not settings.database_url or not settings.redis_url:
        raise SettingsError("DATABASE_URL and REDIS_URL must be set (`shopflow dev` starts both)")
    return settings


def cmd_migrate(args: argparse.Namespace) -> None:
    dsn = _require_urls(load_settings()).database_url
    if args.action == "status":
        for m, applied in run(status(dsn)):
            print(f"{m.version:04d}_{m.name}: {'applied' if applied else 'pending'}")
        return
    done = run(migrate(dsn))
    print(f"applied {len(done)} migration(s)" + "".join(f"\n  {m.version:04d}_{m.name}" for m in done))


async def _seed(dsn: str, products: int, currency: str, *, reset: bool, if_empty: bool) -> int:
    from .catalog import seed

    conn = await asyncpg.connect(dsn)
    try:
        if reset:
            await seed.reset(conn)
        elif not await seed.is_empty(conn):
            if if_empty:
                return 0
            raise SettingsError("the catalog is not empty; pass --reset to replace it")
        return await seed.seed(conn, products, currency=currency)
    finally:
        await conn.close()


def cmd_seed(args: argparse.Namespace) -> None:
    settings = _require_urls(load_settings())
    run(migrate(settings.database_url))
    n = run(_seed(settings.database_url, args.products, settings.currency, reset=args.reset, if_empty=False))
    pictures = run(seed_pictures(settings))
    print(f"seeded {n} products and {pictures} pictures (the workers make their variants)")


async def seed_pictures(settings: Settings, conn: asyncpg.Connection | None = None) -> int:
    """A drawn picture for each category's products, uploaded for the workers to process
    (shown on the products through `conn` when given: it may have no time limit, where the
    pool's statements have one)."""
    from .catalog import seed
    from .media.backends import open_storage
    from .media.demo import upload_pictures
    from .platform.db import Database
    from .platform.redisx import connect

    db = await Database.open(settings, min_size=1, max_size=1)
    redis = connect(settings.redis_url, settings.redis_timeout)
    try:
        categories = await seed.leaf_categories(db)
        async with open_storage(settings) as storage:
            names = [c["name"] for c in categories]
            media = await upload_pictures(db, redis, storage, names, settings.media_max_bytes)
        await seed.show_pictures(conn or db, {c["id"]: m for c, m in zip(categories, media, strict=True)})
        return len(media)
    finally:
        await db.pool.close()
        await redis.aclose()


def _kept_secret(data_dir: Path, name: str) -> str:
    """A random secret made once and kept (0600) in the dev data directory."""
    path = data_dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


async def _create_user(settings: Settings, email: str, password: str, name: str, role: str) -> str:
    from .auth.passwords import PasswordHasher
    from .auth.service import create_user
    from .platform.db import Database

    pepper = settings.password_pepper.get_secret_value()
    if len(pepper) < 16:
        raise SettingsError("SHOPFLOW_PASSWORD_PEPPER (16+ characters) must be set")
    hasher = PasswordHasher(settings.bcrypt_cost, pepper.encode(), 1)
    db = await Database.open(settings, min_size=1, max_size=1)
    try:
        user = await create_user(db, hasher, email, password, name, role)
    finally:
        await db.pool.close()
        hasher.close()
    return str(user["id"])


def cmd_user_create(args: argparse.Namespace) -> None:
    settings = _require_urls(load_settings())
    password = os.environ.get("SHOPFLOW_NEW_PASSWORD") or secrets.token_urlsafe(12)
    run(migrate(settings.database_url))
    user_id = run(_create_user(settings, args.email, password, args.name or args.email, args.role))
    print(f"created {args.role} {args.email} ({user_id})")
    if "SHOPFLOW_NEW_PASSWORD" not in os.environ:
        print(f"password: {password}")


async def _reprocess(settings: Settings, media_ids: list[UUID] | None) -> int:
    from .media.ladder import ladder_of
    from .media.service import reprocess
    from .platform.db import Database
    from .platform.redisx import connect

    db = await Database.open(settings, min_size=1, max_size=1)
    redis = connect(settings.redis_url, settings.redis_timeout)
    try:
        return await reprocess(
            db, redis, ladder_of(settings), media_ids, lambda n: print(f"queued {n}", flush=True)
        )
    finally:
        await db.pool.close()
        await redis.aclose()


def cmd_media_reprocess(args: argparse.Namespace) -> None:
    settings = _require_urls(load_settings())
    run(migrate(settings.database_url))
    n = run(_reprocess(settings, None if args.all else args.ids))
    print(f"{n} media queued for the workers to make anew" if n else "every media is made with this ladder")


async def _set_disabled(settings: Settings, email: str, disabled: bool) -> None:
    from .auth.service import set_disabled
    from .auth.sessions import Sessions
    from .platform.redisx import connect

    conn = await asyncpg.connect(settings.database_url)
    redis = connect(settings.redis_url, settings.redis_timeout)
    try:
        sessions = Sessions(redis, settings.session_idle_timeout, settings.session_lifetime)
        await set_disabled(conn, sessions, email, disabled)
    finally:
        await conn.close()
        await redis.aclose()


def cmd_user_status(args: argparse.Namespace) -> None:
    disabled = args.action == "disable"
    run(_set_disabled(_require_urls(load_settings()), args.email, disabled))
    print(f"{args.email} {'disabled; its sessions have ended' if disabled else 'enabled'}")


async def _first_admin(settings: Settings, data_dir: Path) -> tuple[str, str] | None:
    """In a new dev shop, an admin account; its email and password (kept in data_dir)."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')"):
            return None
    finally:
        await conn.close()
    email, password = "admin@shopflow.local", _kept_secret(data_dir, "admin_password")
    await _create_user(settings, email, password, "Admin", "admin")
    return email, password


def cmd_dev(args: argparse.Namespace) -> None:
    from .platform.embedded import EmbeddedPostgres, EmbeddedRedis
    from .supervisor import Process, stop_all

    settings = load_settings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    children: dict[str, Child] = {}  # in the order they start
    try:
        if not settings.database_url:
            pg = EmbeddedPostgres(data_dir / "postgres")
            env["DATABASE_URL"] = pg.start()
            children["postgres"] = pg
            log.info("embedded PostgreSQL started", extra={"url": env["DATABASE_URL"]})
        if not settings.redis_url:
            redis = EmbeddedRedis(data_dir / "redis")
            env["REDIS_URL"] = redis.start()
            children["redis"] = redis
            log.info("embedded Redis started", extra={"url": env["REDIS_URL"]})
        for name in ("jwt_secret", "password_pepper"):
            if not getattr(settings, name).get_secret_value():
                env[f"SHOPFLOW_{name.upper()}"] = _kept_secret(data_dir, name)
        settings = load_settings(
            database_url=env["DATABASE_URL"],
            redis_url=env["REDIS_URL"],
            password_pepper=env["SHOPFLOW_PASSWORD_PEPPER"],
        )
        run(migrate(settings.database_url))
        seeded = run(
            _seed(settings.database_url, args.products, settings.currency, reset=False, if_empty=True)
        )
        if seeded:
            pictures = run(seed_pictures(settings))
            log.info("seeded the demo shop", extra={"products": seeded, "pictures": pictures})
        admin = run(_first_admin(settings, data_dir))
        cli = [sys.executable, "-m", "shopflow"]
        port = args.port or settings.port
        for name, argv in (("web", [*cli, "serve", "--port", str(port)]), ("worker", [*cli, "worker"])):
            children[name] = process = Process(argv, env)
            process.start()
        print(
            f"ShopFlow is running on http://localhost:{port}\n"
            + (f"  admin account: {admin[0]} / {admin[1]}\n" if admin else "")
            + "  Ctrl-C stops everything.",
            flush=True,
        )
        run(_watch(children))
    finally:
        stop_all(children)


async def _watch(children: dict[str, Child]) -> None:
    """Until Ctrl-C/SIGTERM, start again whatever dies (a crashed web process, worker,
    PostgreSQL or Redis), with backoff, while the rest keeps running."""
    from .supervisor import Supervisor

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await Supervisor(children).run(stop)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shopflow", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web process")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="run an arq worker").set_defaults(func=cmd_worker)
    mig = sub.add_parser("migrate", help="apply migrations or show their status")
    mig.add_argument("action", nargs="?", choices=("up", "status"), default="up")
    mig.set_defaults(func=cmd_migrate)
    seed = sub.add_parser("seed", help="load the demo shop")
    seed.add_argument("--products", type=int, default=1000)
    seed.add_argument(
        "--reset", action="store_true", help="replace the catalog (carts and orders are emptied too)"
    )
    seed.set_defaults(func=cmd_seed)
    user = sub.add_parser("user", help="manage accounts")
    user_sub = user.add_subparsers(dest="action", required=True)
    create = user_sub.add_parser(
        "create", help="create an account (password: $SHOPFLOW_NEW_PASSWORD or printed)"
    )
    create.add_argument("--email", required=True)
    create.add_argument("--name")
    create.add_argument("--role", choices=("customer", "staff", "admin"), default="customer")
    create.set_defaults(func=cmd_user_create)
    for action in ("disable", "enable"):
        status = user_sub.add_parser(
            action, help=f"{action} an account" + (" and end its sessions" if action == "disable" else "")
        )
        status.add_argument("--email", required=True)
        status.set_defaults(func=cmd_user_status)
    media = sub.add_parser("media", help="manage product media")
    media_sub = media.add_subparsers(dest="action", required=True)
    reprocess = media_sub.add_parser(
        "reprocess",
        help="make variants anew through the workers (after a ladder change); stopped, run again to go on",
    )
    which = reprocess.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--all", action="store_true", help="every media not made with the current ladder, or failed"
    )
    which.add_argument("ids", nargs="*", type=UUID, default=[], metavar="ID", help="these media")
    reprocess.set_defaults(func=cmd_media_reprocess)
    dev = sub.add_parser("dev", help="embedded PostgreSQL and Redis, migrate, seed, web + worker")
    dev.add_argument("--port", type=int)
    dev.add_argument("--products", type=int, default=1000)
    dev.set_defaults(func=cmd_dev)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if getattr(args, "workers", 1) < 1:
        parser().error("--workers must be at least 1")
    try:
        settings = load_settings()
        setup_logging(settings.log_level)
        args.func(args)
    except (SettingsError, MigrationError, EmbeddedServerError) as e:
        print(f"shopflow: {e}", file=sys.stderr)
        sys.exit(2)
    except AppError as e:  # a rule the command's input broke, such as an email already taken
        print(f"shopflow: {e.detail}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
