"""Group commit: writes from many concurrent requests share one transaction.

A caller hands :meth:`GroupCommitWriter.submit` a write operation and is resumed with its result only
after the transaction that ran it has committed. While one transaction commits, new operations queue
up; the next transaction takes all of them (up to ``max_batch``). One fsync then covers many requests,
which is how a durable acknowledgement and high throughput coexist (DESIGN.md, "Group commit on
ingest").

Two shapes of operation:

* a plain async function of a connection, run on its own inside the batch's transaction;
* a :class:`Batched` item: items of the same :class:`BatchKind` in one transaction are handed to the
  kind's ``run`` together, so that it can serve all of them with a few set-based statements (one
  multi-row INSERT for a hundred accepted messages instead of a hundred INSERTs). Every statement costs
  a round trip to the driver's thread or server, so this is where throughput comes from.

Groups run in the order their first item arrived; an operation that must see the effect of another
waits for that one's result before submitting.

If anything in a batch raises (or the commit fails, e.g. on a PostgreSQL deadlock between nodes), the
batch is rolled back and every operation is run again in a transaction of its own, so one bad
operation fails only its own caller. Operations must therefore depend only on the connection they are
given. Expected refusals (not enough money, a limit reached) are returned as values, not raised, to keep
batches whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.errors import StorageError
from smsgate.store.checkpoint import Checkpointer
from smsgate.store.db import UNAVAILABLE_ERRORS, Database

T = TypeVar("T")
ItemT = TypeVar("ItemT")
ItemT_contra = TypeVar("ItemT_contra", contravariant=True)
ResultT = TypeVar("ResultT")
WriteOp = Callable[[AsyncConnection], Awaitable[T]]

log = logging.getLogger(__name__)

# An operation that writes at most this many rows is light (see ``submit``); at most LIGHT_BATCH
# light operations run on the event loop's thread at once.
LIGHT_ROWS = 64
LIGHT_BATCH = 64


class BatchKind(Protocol[ItemT_contra]):
    """Runs many items of one kind in a transaction; returns one result per item, in order."""

    async def run(self, conn: AsyncConnection, items: Sequence[ItemT_contra]) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True)
class Batched(Generic[ItemT, ResultT]):
    """An item for a :class:`BatchKind`; ``submit`` returns that kind's result for it."""

    kind: BatchKind[ItemT]
    item: ItemT


class WriterState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(slots=True)
class _Pending:
    op: WriteOp[Any] | Batched[Any, Any]
    future: asyncio.Future[Any]
    light: bool = False


@dataclass(slots=True)
class WriterStats:
    transactions: int = 0
    operations: int = 0
    fallbacks: int = 0


class GroupCommitWriter:
    """Runs submitted write operations in batched transactions; an async context manager."""

    def __init__(self, db: Database, *, max_batch: int = 1000, queue_size: int = 20000) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self.state = WriterState.NEW
        self.stats = WriterStats()
        engine = db.writer_engine
        self._thread = _WriterThread(engine, db.writer_lock) if engine is not None else None

    async def __aenter__(self) -> GroupCommitWriter:
        if self.state is not WriterState.NEW:
            raise RuntimeError(f"writer cannot be opened in state {self.state.value}")
        self._task = asyncio.create_task(self._run(), name="group-commit-writer")
        if self._thread is not None:
            self._thread.start()
        self.state = WriterState.RUNNING
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop accepting, commit everything already queued, then stop."""
        if self.state is not WriterState.RUNNING:
            self.state = WriterState.CLOSED
            return
        self.state = WriterState.CLOSING
        await self._queue.put(None)
        if self._task is not None:
            await self._task
        if self._thread is not None:
            self._thread.close()
        self.state = WriterState.CLOSED

    async def submit(self, op: WriteOp[T] | Batched[Any, T], *, light: bool = False) -> T:
        """Run ``op`` in the next batch; return its result once that batch has committed.

        ``light``: the operation writes a few rows (``LIGHT_ROWS``: a single send, a receipt). On
        SQLite, a batch of only light operations runs on the event loop's own thread: blocking the
        loop for its fraction of a millisecond costs less than the hop to the writer thread and
        back, which is most of an acknowledgement's wait when requests come one at a time (one
        SMTP or SMPP session).

        Raises what ``op`` raised, or :class:`StorageError` when the batch could not commit.
        """
        if self.state is not WriterState.RUNNING:
            raise StorageError("the writer is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(op, future, light))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            results = await self._execute(batch)
        except Exception:  # an operation raised, or a lock conflict: isolate by running each alone
            self.stats.fallbacks += 1
            await self._commit_one_by_one(batch)
            return
        for pending, result in zip(batch, results, strict=True):
            _resolve(pending, result)

    async def _commit_one_by_one(self, batch: list[_Pending]) -> None:
        for pending in batch:
            try:
                (result,) = await self._execute([pending])
            except Exception as exc:  # handed to the caller, who turns it into a reply
                _fail(pending, exc)
            else:
                _resolve(pending, result)

    async def _execute(self, batch: list[_Pending]) -> list[Any]:
        if self._thread is not None:
            results = None
            if len(batch) <= LIGHT_BATCH and all(pending.light for pending in batch):
                results = self._thread.try_run_here(batch)
            if results is None:
                results = await self._thread.run(batch)
        else:
            async with self._db.transaction() as conn:
                results = await _run_ops(conn, batch)
        self.stats.transactions += 1
        self.stats.operations += len(batch)
        return results


async def _run_ops(conn: AsyncConnection, batch: list[_Pending]) -> list[Any]:
    """Run every operation of ``batch`` on ``conn`` (one transaction); their results in order."""
    results: list[Any] = [None] * len(batch)
    for kind, positions in _groups(batch):
        if kind is None:
            (position,) = positions
            op = batch[position].op
            assert not isinstance(op, Batched)
            results[position] = await op(conn)
            continue
        items = [_batched(batch[p]).item for p in positions]
        outcomes = await kind.run(conn, items)
        if len(outcomes) != len(items):
            raise RuntimeError(f"{kind!r} returned {len(outcomes)} results for {len(items)}")
        for position, outcome in zip(positions, outcomes, strict=True):
            results[position] = outcome
    return results


class _SyncConnection:
    """Presents a synchronous SQLAlchemy connection with the awaitable ``execute`` that write
    operations use. Its calls complete without suspending, so a batch of operations runs to its end
    in one ``send`` (:func:`_run_to_end`), on the writer thread or, for a light batch, the loop's."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.execute(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Any:
        return self._conn.exec_driver_sql(statement, parameters)


class _WriterThread:
    """SQLite: runs each batch in one hop on a thread of its own, on a synchronous connection.

    Write operations are coroutines; every ``await conn.execute`` completes at once, so the thread
    runs a batch's coroutine to its end in one go. One thread hop per transaction instead of
    several per statement (aiosqlite) is what lets the writer keep up with thousands of requests a
    second; a light batch skips even that hop (:meth:`try_run_here`).

    When several processes write to one SQLite file (``smsgate run --workers``), each transaction
    is taken under an exclusive lock on ``lock_path``. SQLite's own busy handler would do, but it
    polls with growing sleeps (1, 2, 5, 10 … ms), so a writer that lost the race sleeps well past
    the other's commit; ``flock`` wakes the next writer as soon as the lock is released.
    """

    def __init__(self, engine: Engine, lock_path: Path | None = None) -> None:
        self._engine = engine
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._lock_path = lock_path
        self._lock_fd: int | None = None
        # Kept for the thread's life: checking a connection out of the pool and handing it back
        # (with its reset-on-return rollback) for every transaction cost as much as a small batch.
        self._conn: Connection | None = None
        self._checkpointer: Checkpointer | None = None

    def start(self) -> None:
        """Start checkpointing the database file (store/checkpoint.py)."""
        path = self._engine.url.database
        if path and path != ":memory:" and self._checkpointer is None:
            self._checkpointer = Checkpointer(path)

    async def run(self, batch: list[_Pending]) -> list[Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run_batch, batch)

    def try_run_here(self, batch: list[_Pending]) -> list[Any] | None:
        """Run ``batch`` on the calling thread, unless another process holds the write lock
        (None: the writer thread is to wait for it, not the event loop)."""
        if self._lock_path is None:
            return self._transaction(batch)
        lock_fd = self._lock_fd_open()
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        try:
            return self._transaction(batch)
        finally:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self._executor.submit(self._close_connection).result()
        self._executor.shutdown(wait=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _run_batch(self, batch: list[_Pending]) -> list[Any]:
        if self._lock_path is None:
            return self._transaction(batch)
        lock_fd = self._lock_fd_open()
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            return self._transaction(batch)
        finally:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def _lock_fd_open(self) -> int:
        assert self._lock_path is not None
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._lock_fd

    def _transaction(self, batch: list[_Pending]) -> list[Any]:
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(sqlite_begin="IMMEDIATE")
            with self._conn.begin():
                # Typed as the async connection the operations expect; see _SyncConnection.
                adapter = cast(AsyncConnection, _SyncConnection(self._conn))
                return _run_to_end(_run_ops(adapter, batch))
        except UNAVAILABLE_ERRORS as exc:
            self._close_connection()  # the next transaction starts on a new one
            raise StorageError(f"database unavailable: {type(exc).__name__}") from exc

    def _close_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(*UNAVAILABLE_ERRORS):
                conn.close()


def _run_to_end(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that awaits nothing but :class:`_SyncConnection` calls, which never
    suspend: one ``send`` runs it to its end, with no event loop and no task around it."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return cast(T, stop.value)
    coro.close()
    raise RuntimeError("a write operation awaited something other than its connection")


def _batched(pending: _Pending) -> Batched[Any, Any]:
    assert isinstance(pending.op, Batched)
    return pending.op


def _groups(batch: list[_Pending]) -> list[tuple[BatchKind[Any] | None, list[int]]]:
    """Positions grouped by batch kind in order of first arrival; plain operations alone."""
    groups: list[tuple[BatchKind[Any] | None, list[int]]] = []
    by_kind: dict[int, list[int]] = {}
    for position, pending in enumerate(batch):
        op = pending.op
        if not isinstance(op, Batched):
            groups.append((None, [position]))
            continue
        key = id(op.kind)
        if key not in by_kind:
            by_kind[key] = []
            groups.append((op.kind, by_kind[key]))
        by_kind[key].append(position)
    return groups


def _resolve(pending: _Pending, result: Any) -> None:
    # The caller may have gone away (client disconnected); the write has committed regardless.
    if not pending.future.done():
        pending.future.set_result(result)


def _fail(pending: _Pending, exc: BaseException) -> None:
    if not pending.future.done():
        pending.future.set_exception(exc)
