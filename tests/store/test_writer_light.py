"""SQLite: light batches commit on the event loop's thread, the others on the writer thread."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.db import Database
from smsgate.store.schema import meta
from smsgate.store.writer import GroupCommitWriter, WriteOp


def insert_key(key: str, threads: list[int]) -> WriteOp[str]:
    async def op(conn: AsyncConnection) -> str:
        threads.append(threading.get_ident())
        await conn.execute(insert(meta).values(key=key, value="v"))
        return key

    return op


async def stored_keys(sqlite_db: Database) -> set[str]:
    async with sqlite_db.read() as conn:
        return set((await conn.execute(select(meta.c.key))).scalars())


async def test_a_light_write_commits_on_the_loops_thread_and_a_heavy_one_does_not(
    sqlite_db: Database,
) -> None:
    threads: list[int] = []
    async with GroupCommitWriter(sqlite_db) as writer:
        assert await writer.submit(insert_key("light", threads), light=True) == "light"
        assert await writer.submit(insert_key("heavy", threads)) == "heavy"
    loop_thread = threading.get_ident()
    assert threads[0] == loop_thread
    assert threads[1] != loop_thread
    assert {"light", "heavy"} <= await stored_keys(sqlite_db)


async def test_while_another_process_writes_a_light_write_waits_off_the_loop(
    sqlite_db: Database,
) -> None:
    """Another process holding the write lock must not block the event loop: the light batch
    goes to the writer thread, which waits for the lock, while the loop goes on."""
    assert sqlite_db.writer_lock is not None
    other = os.open(
        sqlite_db.writer_lock, os.O_RDWR | os.O_CREAT, 0o600
    )  # its own open file: as a process
    threads: list[int] = []
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        release = threading.Timer(0.05, fcntl.flock, (other, fcntl.LOCK_UN))
        release.start()
        async with GroupCommitWriter(sqlite_db) as writer:
            write = asyncio.ensure_future(writer.submit(insert_key("after", threads), light=True))
            passes = 0
            while not write.done():
                await asyncio.sleep(0)
                passes += 1
            assert write.result() == "after"
        release.join()
    finally:
        os.close(other)
    assert threads[0] != threading.get_ident()
    assert passes > 1  # the loop kept running while the writer thread waited for the lock
    assert "after" in await stored_keys(sqlite_db)


async def test_an_operation_that_awaits_anything_but_its_connection_fails_alone(
    sqlite_db: Database,
) -> None:
    """Operations run to their end in one go (no event loop around them on the writer's side):
    one that suspends is refused with a clear error, and the others of its batch still commit."""

    async def suspends(conn: AsyncConnection) -> None:
        await asyncio.sleep(0)

    threads: list[int] = []
    async with GroupCommitWriter(sqlite_db) as writer:
        results = await asyncio.gather(
            writer.submit(suspends, light=True),
            writer.submit(insert_key("fine", threads), light=True),
            writer.submit(suspends),
            return_exceptions=True,
        )
    assert isinstance(results[0], RuntimeError)
    assert results[1] == "fine"
    assert isinstance(results[2], RuntimeError)
    assert "awaited something other than its connection" in str(results[0])
    assert "fine" in await stored_keys(sqlite_db)
