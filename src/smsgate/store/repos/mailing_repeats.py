"""fl[5] repeats of mailings (jobs.php, http-api.md §5): which messages failed, which are settled.

A message of an fl[5] mailing is *settled* once ``mailing_repeats`` has a row for it: an original
that ended in 3, 20 or 25 gets its row in the transaction that stores its repeat (or gives up on
one), and the repeat gets its own row (``repeat_of``) in the same transaction, so it is never
repeated. :func:`settle` inserts with ``ON CONFLICT DO NOTHING`` and reports the rows it inserted:
only those originals get a repeat, so two repeat steps racing on the same messages (two nodes, a
step taken over) store each repeat exactly once.

A mailing is looked at while ``retry_open`` is set (by every claim of the scheduler); :func:`close`
clears it once none of its messages is waiting or with an operator and every failed one is settled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from smsgate.domain.codes import MessageStatus
from smsgate.domain.mailings import MailingStatus
from smsgate.store.schema import mailing_repeats, mailings, messages

# Final statuses that earn a repeat (http-api.md §5): expired, undeliverable, unavailable.
REPEATED_STATUSES = (
    int(MessageStatus.EXPIRED),
    int(MessageStatus.CANNOT_DELIVER),
    int(MessageStatus.UNAVAILABLE),
)
# Statuses a message can still leave: waiting, or with an operator.
_PENDING = (int(MessageStatus.WAITING), int(MessageStatus.TRANSFERRED))


@dataclass(frozen=True, slots=True)
class OpenMailing:
    """An fl[5] mailing whose messages may still need a repeat."""

    id: int
    account_id: int
    status: int
    msg_type: int
    sender2: str | None
    mes2: str | None
    test: bool
    retry_floor: int


@dataclass(frozen=True, slots=True)
class Failed:
    """An original message that ended in 3, 20 or 25 and has no repeat yet."""

    id: int
    client_id: str
    phone: str
    text: str
    comment: str | None


async def open_mailings(conn: AsyncConnection, after: int, limit: int) -> list[OpenMailing]:
    """Up to ``limit`` mailings with ``retry_open`` set and an id above ``after``, by id."""
    rows = await conn.execute(
        select(
            mailings.c.id,
            mailings.c.account_id,
            mailings.c.status,
            mailings.c.msg_type,
            mailings.c.sender2,
            mailings.c.mes2,
            mailings.c.test,
            mailings.c.retry_floor,
        )
        .where(mailings.c.retry_open.is_(True), mailings.c.id > after)
        .order_by(mailings.c.id)
        .limit(limit)
    )
    return [OpenMailing(*row) for row in rows]


def _unsettled(mailing: OpenMailing) -> tuple[ColumnElement[bool], ...]:
    return (
        messages.c.job_id == mailing.id,
        messages.c.status.in_(REPEATED_STATUSES),
        messages.c.id > mailing.retry_floor,
        ~exists().where(mailing_repeats.c.message_id == messages.c.id),
    )


async def failed(conn: AsyncConnection, mailing: OpenMailing, limit: int) -> list[Failed]:
    """Up to ``limit`` of the mailing's failed messages not settled yet, oldest first."""
    rows = await conn.execute(
        select(
            messages.c.id,
            messages.c.client_id,
            messages.c.phone,
            messages.c.text,
            messages.c.comment,
        )
        .where(*_unsettled(mailing))
        .order_by(messages.c.id)
        .limit(limit)
    )
    return [Failed(*row) for row in rows]


async def settle(
    conn: AsyncConnection, mailing_id: int, message_ids: Sequence[int], now: float
) -> set[int]:
    """Mark ``message_ids`` settled; the ones this call marked (not marked before)."""
    if not message_ids:
        return set()
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    rows = [
        {"message_id": i, "mailing_id": mailing_id, "repeat_of": None, "created_at": now}
        for i in sorted(message_ids)  # one lock order for every node
    ]
    result = await conn.execute(
        dialect_insert(mailing_repeats)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[mailing_repeats.c.message_id])
        .returning(mailing_repeats.c.message_id)
    )
    return {int(i) for i in result.scalars()}


async def mark_repeats(
    conn: AsyncConnection, mailing_id: int, pairs: Sequence[tuple[int, int]], now: float
) -> None:
    """The repeats just stored, as (repeat id, original id): settled, never to be repeated."""
    if pairs:
        await conn.execute(
            mailing_repeats.insert(),
            [
                {"message_id": r, "mailing_id": mailing_id, "repeat_of": o, "created_at": now}
                for r, o in pairs
            ],
        )


async def add_run_cost(
    conn: AsyncConnection, mailing_id: int, costs: Mapping[str, Decimal]
) -> None:
    """Repeats charged to the run they repeat: counted in ``cost`` while it is the last run."""
    for run_id, cost in costs.items():
        if cost:
            await conn.execute(
                update(mailings)
                .where(mailings.c.id == mailing_id, mailings.c.run_id == run_id)
                .values(run_cost=mailings.c.run_cost + cost)
            )


async def close(conn: AsyncConnection, mailing: OpenMailing) -> bool:
    """Stop looking at the mailing when nothing of it can still need a repeat; whether it did.

    A cancelled (or deleted) mailing gets no repeats: it is closed as it is (a resume claims it
    again, which reopens it and looks at every failed message). Otherwise the mailing must not be
    running, none of its messages pending and every failed one settled. The pending check comes
    first: a message that fails after it was read as pending keeps the mailing open, one that
    failed before is seen by the second check."""
    values: dict[str, object] = {"retry_open": False}
    if mailing.status != MailingStatus.CANCELLED:
        if mailing.status == MailingStatus.RUNNING:
            return False
        pending = await conn.execute(
            select(messages.c.id)
            .where(messages.c.job_id == mailing.id, messages.c.status.in_(_PENDING))
            .limit(1)
        )
        if pending.first() is not None:
            return False
        left = await conn.execute(select(messages.c.id).where(*_unsettled(mailing)).limit(1))
        if left.first() is not None:
            return False
        floor = (
            await conn.execute(
                select(func.max(messages.c.id)).where(
                    messages.c.job_id == mailing.id, messages.c.status.in_(REPEATED_STATUSES)
                )
            )
        ).scalar()
        values["retry_floor"] = max(int(floor or 0), mailing.retry_floor)
    result = await conn.execute(
        update(mailings)
        .where(
            mailings.c.id == mailing.id,
            mailings.c.status == mailing.status,
            mailings.c.retry_open.is_(True),
        )
        .values(**values)
    )
    return result.rowcount == 1
