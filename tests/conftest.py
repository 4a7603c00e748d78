"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, services, HTTP clients.

Every database test runs twice, once per back end. PostgreSQL comes from
``SMSGATE_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); the suite makes
its own database next to it. When PostgreSQL is unreachable its tests are skipped locally, but with
``SMSGATE_TEST_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from smsgate.app import migrate_database, open_services
from smsgate.config import Settings, load_settings
from smsgate.ingress.http.app import build_http_app
from smsgate.services.container import Services
from smsgate.store.schema import metadata
from tests.support.clock import ManualClock

T = TypeVar("T")

PG_URL = os.environ.get(
    "SMSGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
).replace("postgresql+asyncpg://", "postgresql://")
REQUIRE_PG = os.environ.get("SMSGATE_TEST_REQUIRE_POSTGRES") == "1"
BACKENDS = ("sqlite", "postgresql")

# Cheap argon2 for tests: the parameters do not change what is verified, only how slowly.
TEST_ENV = {
    "SMSGATE_AUTH_ARGON2_TIME_COST": "1",
    "SMSGATE_AUTH_ARGON2_MEMORY_COST_KIB": "64",
    "SMSGATE_AUTH_ARGON2_PARALLELISM": "1",
    "SMSGATE_LOG_FORMAT": "text",
    # Listeners other than HTTP pick a free port too (the default 2525 would clash between runs).
    "SMSGATE_SMTP_PORT": "0",
    "SMSGATE_SMPP_PORT": "0",
}


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a loop of its own, even from inside a running loop
    (session fixtures are first requested from async fixtures)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def make_settings(url: str, data_dir: Path, **env: str) -> Settings:
    environ = {**TEST_ENV, "SMSGATE_DATABASE_URL": url, "SMSGATE_DATA_DIR": str(data_dir), **env}
    return load_settings(None, environ)


def _pg_database_url(name: str) -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


async def _pg_reachable() -> bool:
    try:
        conn = await asyncpg.connect(PG_URL, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _recreate_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    path = directory / "template.db"
    run_sync(migrate_database(make_settings(f"sqlite:///{path}", directory)))
    return path


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated PostgreSQL database for this test session; tests truncate it before use."""
    if not run_sync(_pg_reachable()):
        message = f"PostgreSQL is not reachable at {PG_URL}"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"smsgate_test_{os.getpid()}_{worker}"
    run_sync(_recreate_pg_database(name))
    url = _pg_database_url(name)
    run_sync(migrate_database(make_settings(url, tmp_path_factory.mktemp("pg"))))
    yield url
    run_sync(_drop_pg_database(name))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    yield await fresh_database(request, backend, tmp_path)


async def fresh_database(request: pytest.FixtureRequest, backend: str, directory: Path) -> str:
    """A migrated database with nothing in it: a copy of the SQLite template in ``directory``, or
    the session's PostgreSQL database emptied."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = directory / "smsgate.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    conn = await asyncpg.connect(url)
    try:
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    async with open_services(settings, clock) as opened:
        yield opened


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def make_client(services: Services) -> AsyncIterator[ClientFactory]:
    """HTTP clients talking to the app in-process, each from a chosen client IP."""
    app = build_http_app(services, lambda: {"http": True})
    clients: list[httpx.AsyncClient] = []

    def factory(ip: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://smsgate.test")
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(make_client: ClientFactory) -> httpx.AsyncClient:
    return make_client()


async def table_count(services: Services, table: str) -> int:
    async with services.db.read() as conn:
        return int((await conn.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())
