"""Receipt correlation storage (issue 5): part ids of multi-part hand-overs and receipts that came early.

A channel that sends a message's parts separately gets one provider id per part; the first is the
message's ``provider_id`` and the others are kept in ``message_parts``. A receipt that finds no
message — because it overtook the record of its hand-over — is parked in ``early_receipts`` and
applied when the hand-over is recorded. Both are kept 72 h (field-notes.md: "keep correlation for at
least 72 h").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Select, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.repos.dispatch import TRANSFERRED, Transferred, status_is
from smsgate.store.schema import early_receipts, message_parts, messages


@dataclass(frozen=True, slots=True)
class ParkedReceipt:
    id: int
    connector: str
    provider_id: str
    state: str
    err: int


def _upsert_parts(conn: AsyncConnection) -> Insert:
    """INSERT into message_parts where a reused id points at the newer message."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(message_parts)
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=[message_parts.c.connector, message_parts.c.provider_id],
        set_={
            "message_id": statement.excluded.message_id,
            "created_at": statement.excluded.created_at,
        },
    )
    return upsert


async def record_part_ids(
    conn: AsyncConnection, connector: str, parts: Sequence[tuple[int, str]], now: float
) -> None:
    """(message id, provider id of a later part) pairs of messages handed to ``connector``."""
    unique = {pid: mid for mid, pid in parts if pid}
    if unique:
        await conn.execute(
            _upsert_parts(conn),
            [
                {"connector": connector, "provider_id": pid, "message_id": mid, "created_at": now}
                for pid, mid in unique.items()
            ],
        )


async def expect_receipts(conn: AsyncConnection, expected: Sequence[tuple[int, int]]) -> None:
    """(message id, receipts to come) for messages whose receipts do not number their parts:
    the parts that will get no receipt of their own are counted as received now."""
    if expected:
        await conn.execute(
            update(messages)
            .where(messages.c.id == bindparam("message_id"))
            .values(parts_received=messages.c.parts - bindparam("receipts")),
            [{"message_id": mid, "receipts": n} for mid, n in expected],
        )


async def find_parts(
    conn: AsyncConnection, connector: str, provider_ids: Collection[str]
) -> dict[str, int]:
    """Part provider id → message id, for the ids that are later parts of a hand-over."""
    if not provider_ids:
        return {}
    rows = await conn.execute(
        select(message_parts.c.provider_id, message_parts.c.message_id).where(
            message_parts.c.connector == connector,
            message_parts.c.provider_id.in_(list(provider_ids)),
        )
    )
    return {str(pid): int(mid) for pid, mid in rows}


async def transferred_by_id(
    conn: AsyncConnection, message_ids: Collection[int]
) -> dict[int, Transferred]:
    """The messages among ``message_ids`` that still wait for receipts (status 0)."""
    if not message_ids:
        return {}
    rows = await conn.execute(
        select(*TRANSFERRED).where(messages.c.id.in_(list(message_ids)), status_is(0))
    )
    return {int(row.id): Transferred(*row) for row in rows}


async def known_ids(
    conn: AsyncConnection, connector: str, provider_ids: Collection[str]
) -> set[str]:
    """The ids among ``provider_ids`` that name a message of ``connector`` in any status."""
    if not provider_ids:
        return set()
    wanted = list(provider_ids)
    firsts = await conn.execute(
        select(messages.c.provider_id).where(
            messages.c.connector == connector, messages.c.provider_id.in_(wanted)
        )
    )
    known = {str(pid) for (pid,) in firsts}
    return known | set(await find_parts(conn, connector, set(wanted) - known))


async def park(
    conn: AsyncConnection, connector: str, receipts: Sequence[tuple[str, str, int]], now: float
) -> None:
    """Keep receipts (provider id, state, err) whose hand-over is not recorded yet."""
    if receipts:
        await conn.execute(
            early_receipts.insert(),
            [
                {
                    "connector": connector,
                    "provider_id": pid,
                    "state": state,
                    "err": err,
                    "received_at": now,
                }
                for pid, state, err in receipts
            ],
        )


async def take_parked(
    conn: AsyncConnection, connector: str, provider_ids: Collection[str]
) -> list[ParkedReceipt]:
    """Remove and return the parked receipts of ``connector`` naming ``provider_ids``, oldest first."""
    if not provider_ids:
        return []
    params = {"of_connector": connector, "provider_ids": list(provider_ids)}
    rows = await conn.execute(_TAKE_PARKED, params)
    parked = [ParkedReceipt(int(i), c, p, st, int(e)) for i, c, p, st, e in rows]
    if parked:
        await conn.execute(_DROP_TAKEN, params)
    return parked


async def parked(conn: AsyncConnection, limit: int) -> list[ParkedReceipt]:
    """The oldest parked receipts of any connector."""
    rows = await conn.execute(_parked().order_by(early_receipts.c.id).limit(limit))
    return [ParkedReceipt(int(i), c, p, st, int(e)) for i, c, p, st, e in rows]


async def drop_parked(conn: AsyncConnection, ids: Collection[int]) -> None:
    if ids:
        await conn.execute(delete(early_receipts).where(early_receipts.c.id.in_(list(ids))))


async def purge(conn: AsyncConnection, cutoff: float) -> int:
    """Forget parked receipts and part ids from before ``cutoff``; how many parked ones went."""
    dropped = await conn.execute(
        delete(early_receipts).where(early_receipts.c.received_at < cutoff)
    )
    await conn.execute(delete(message_parts).where(message_parts.c.created_at < cutoff))
    return int(dropped.rowcount or 0)


def _parked() -> Select[Any]:
    return select(
        early_receipts.c.id,
        early_receipts.c.connector,
        early_receipts.c.provider_id,
        early_receipts.c.state,
        early_receipts.c.err,
    )


# Run with every receipt: built once (building a statement costs more than running it).
_PARKED_FOR = (
    early_receipts.c.connector == bindparam("of_connector"),
    early_receipts.c.provider_id.in_(bindparam("provider_ids", expanding=True)),
)
_TAKE_PARKED = _parked().where(*_PARKED_FOR).order_by(early_receipts.c.id)
_DROP_TAKEN = delete(early_receipts).where(*_PARKED_FOR)
