"""SQLite: the write-ahead log is checkpointed beside the writer, not inside its commits."""

from __future__ import annotations

import threading

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.checkpoint import WRITER_AUTOCHECKPOINT_PAGES, Checkpointer
from smsgate.store.db import Database
from smsgate.store.schema import meta
from smsgate.store.writer import GroupCommitWriter


def checkpointers() -> int:
    return sum(thread.name == "sqlite-checkpoint" for thread in threading.enumerate())


async def test_the_writer_leaves_checkpoints_to_a_thread_of_their_own(sqlite_db: Database) -> None:
    before = checkpointers()
    async with sqlite_db.read() as reader:
        # An open connection keeps the log: the last one to close would checkpoint and remove it.
        await reader.execute(text("SELECT 1"))
        async with GroupCommitWriter(sqlite_db) as writer:
            assert checkpointers() == before + 1

            async def fill(conn: AsyncConnection) -> int:
                rows = [{"key": f"k{i}", "value": "v" * 500} for i in range(2000)]
                await conn.execute(insert(meta), rows)
                pages: int = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
                return pages

            assert await writer.submit(fill) == WRITER_AUTOCHECKPOINT_PAGES
        assert checkpointers() == before

        path = sqlite_db.engine.url.database
        assert path is not None
        checkpointer = Checkpointer(path, interval_s=3600)  # only the explicit call below runs
        try:
            outcome = checkpointer.checkpoint()
        finally:
            checkpointer.close()
    assert outcome is not None
    busy, pages, done = outcome
    assert busy == 0 and pages > 0 and done == pages  # the whole log is in the database file
