"""The database handle: one async engine for SQLite (WAL) or PostgreSQL (asyncpg).

SQLite specifics: every connection runs in WAL mode with the configured ``synchronous`` level and a
busy timeout, and transactions are started by us (``BEGIN`` / ``BEGIN IMMEDIATE``) instead of by the
``sqlite3`` module, whose implicit transaction handling breaks SAVEPOINT and delays the write lock.
A connection opened with ``execution_options(sqlite_begin="IMMEDIATE")`` takes the write lock at
``BEGIN``, which is what writers want: they wait on the busy timeout instead of failing midway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, SingletonThreadPool

from smsgate.config import DatabaseSettings
from smsgate.errors import StorageError
from smsgate.store.checkpoint import WRITER_AUTOCHECKPOINT_PAGES

Dialect = Literal["sqlite", "postgresql"]

# Failures of the database itself (down, locked, connection lost). Errors of a statement, such as an
# IntegrityError, are not translated: they belong to the operation that ran it.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, OSError, ConnectionError)


class Database:
    """Owns the engine. Create with :meth:`open`, close with :meth:`close`."""

    def __init__(
        self,
        engine: AsyncEngine,
        dialect: Dialect,
        writer_engine: Engine | None = None,
        writer_lock: Path | None = None,
    ) -> None:
        self.engine = engine
        self.dialect: Dialect = dialect
        # SQLite only: a synchronous engine (one connection) for the group-commit writer's thread.
        # aiosqlite hands every statement to its own thread and back, several hops per statement;
        # the writer instead runs a whole batch in one hop on a thread of its own (store/writer.py).
        self.writer_engine = writer_engine
        # SQLite file only: the lock file that the writers of all processes on this database take
        # around each transaction (store/writer.py).
        self.writer_lock = writer_lock

    @classmethod
    def open(cls, settings: DatabaseSettings, *, pooled: bool = True) -> Database:
        """Create the engine. ``pooled=False`` suits short-lived CLI commands and migrations."""
        url = settings.url
        pool: dict[str, Any] = {"poolclass": NullPool}
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[1]
            lock = None
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                lock = Path(path + "-writer.lock")
            if pooled:
                pool = {"pool_size": settings.pool_size, "max_overflow": 0}
            connect_args = {"timeout": float(settings.sqlite_busy_timeout)}
            engine = create_async_engine(url, connect_args=connect_args, **pool)
            _install_sqlite_hooks(engine.sync_engine, settings)
            writer_engine = create_engine(
                url.replace("sqlite+aiosqlite://", "sqlite+pysqlite://"),
                connect_args={**connect_args, "check_same_thread": False},
                poolclass=SingletonThreadPool if pooled else NullPool,
            )
            _install_sqlite_hooks(writer_engine, settings, WRITER_AUTOCHECKPOINT_PAGES)
            return cls(engine, "sqlite", writer_engine, lock)
        if pooled:
            pool = {
                "pool_size": settings.pool_size,
                "max_overflow": settings.pool_size,
                "pool_pre_ping": True,
            }
        return cls(create_async_engine(url, **pool), "postgresql")

    async def close(self) -> None:
        await self.engine.dispose()
        if self.writer_engine is not None:
            self.writer_engine.dispose()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (autobegun transaction, rolled back at the end)."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise StorageError(f"database unavailable: {type(exc).__name__}") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed when the block ends without an exception."""
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
                async with conn.begin():
                    yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise StorageError(f"database unavailable: {type(exc).__name__}") from exc

    async def ping(self) -> bool:
        try:
            async with self.read() as conn:
                await conn.execute(text("SELECT 1"))
        except StorageError:
            return False
        return True


def _install_sqlite_hooks(
    engine: Engine, settings: DatabaseSettings, autocheckpoint_pages: int | None = None
) -> None:
    synchronous = settings.sqlite_synchronous.upper()
    busy_ms = int(float(settings.sqlite_busy_timeout) * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if autocheckpoint_pages is not None:  # the writer's: see store/checkpoint.py
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint_pages)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")
