"""The group-commit writer: batching, durability of the answer, isolation of failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.config import Settings
from smsgate.errors import StorageError
from smsgate.store.db import Database
from smsgate.store.schema import meta
from smsgate.store.writer import Batched, GroupCommitWriter, WriteOp, WriterState


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database.open(settings.database)
    yield database
    await database.close()


async def committed(db: Database, key: str) -> bool:
    """Whether ``key`` is visible to another connection, i.e. committed."""
    async with db.read() as conn:
        found = await conn.execute(select(meta.c.value).where(meta.c.key == key))
        return found.first() is not None


async def test_thousand_concurrent_writes_share_few_transactions(db: Database) -> None:
    async with GroupCommitWriter(db, max_batch=1000) as writer:
        answered_before_commit: list[str] = []

        async def write_one(i: int) -> None:
            key = f"row-{i}"

            async def op(conn: AsyncConnection) -> str:
                await conn.execute(insert(meta).values(key=key, value=str(i)))
                return key

            result = await writer.submit(op)
            assert result == key
            # The caller is resumed only after its row is committed: another connection sees it.
            if not await committed(db, key):
                answered_before_commit.append(key)

        await asyncio.gather(*(write_one(i) for i in range(1000)))

    assert answered_before_commit == []
    assert writer.stats.operations == 1000
    print(f"1000 writes in {writer.stats.transactions} transactions")
    assert writer.stats.transactions <= 50, writer.stats  # far fewer transactions than rows
    async with db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(meta))).scalar_one() == 1000


async def test_a_failing_operation_fails_only_its_caller(db: Database) -> None:
    async with GroupCommitWriter(db) as writer:

        def op_for(key: str) -> WriteOp[str]:
            async def op(conn: AsyncConnection) -> str:
                await conn.execute(insert(meta).values(key=key, value="v"))
                return key

            return op

        results = await asyncio.gather(
            writer.submit(op_for("a")),
            writer.submit(op_for("b")),
            writer.submit(op_for("a")),  # duplicate key: IntegrityError
            writer.submit(op_for("c")),
            return_exceptions=True,
        )
    assert results[0] == "a" and results[1] == "b" and results[3] == "c"
    assert isinstance(results[2], IntegrityError)
    assert writer.stats.fallbacks >= 1
    for key in ("a", "b", "c"):
        assert await committed(db, key)


async def test_close_commits_what_was_queued(db: Database) -> None:
    writer = GroupCommitWriter(db)
    await writer.__aenter__()

    async def op(conn: AsyncConnection) -> None:
        await conn.execute(insert(meta).values(key="queued", value="v"))

    pending = asyncio.ensure_future(writer.submit(op))
    await asyncio.sleep(0)
    await writer.close()
    await pending
    assert await committed(db, "queued")
    assert writer.state is WriterState.CLOSED
    with pytest.raises(StorageError):
        await writer.submit(op)


async def test_cannot_be_opened_twice(db: Database) -> None:
    writer = GroupCommitWriter(db)
    async with writer:
        with pytest.raises(RuntimeError):
            await writer.__aenter__()


class _InsertMany:
    """A batch kind: one multi-row INSERT for all its items."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def run(self, conn: AsyncConnection, items: Sequence[str]) -> list[str]:
        self.calls.append(len(items))
        await conn.execute(insert(meta), [{"key": key, "value": "v"} for key in items])
        return [key.upper() for key in items]


async def test_batched_items_share_one_statement(db: Database) -> None:
    kind = _InsertMany()
    async with GroupCommitWriter(db) as writer:
        results = await asyncio.gather(*(writer.submit(Batched(kind, f"k{i}")) for i in range(300)))
    assert results == [f"K{i}" for i in range(300)]
    assert sum(kind.calls) == 300 and len(kind.calls) <= 3
    assert await committed(db, "k299")


async def test_a_failing_batch_kind_is_retried_item_by_item(db: Database) -> None:
    kind = _InsertMany()
    async with GroupCommitWriter(db) as writer:
        results = await asyncio.gather(
            writer.submit(Batched(kind, "x")),
            writer.submit(Batched(kind, "x")),  # the duplicate fails the multi-row insert
            writer.submit(Batched(kind, "y")),
            return_exceptions=True,
        )
    assert results[0] == "X" and results[2] == "Y"
    assert isinstance(results[1], IntegrityError)
