"""Messages: the rows the dispatcher claims and status.php reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from operator import attrgetter

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store import bulk
from smsgate.store.schema import messages


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message as accepted (or rejected at acceptance) by the sending service."""

    account_id: int
    client_id: str
    phone: str
    msg_type: int
    sender: str | None
    text: str
    comment: str | None
    status: int
    err: int
    parts: int
    cost: Decimal
    encoding: int
    country: str | None
    operator: str | None
    operator_orig: str | None
    region: str | None
    mccmnc: str | None
    test: bool
    options: str | None
    created_at: float
    updated_at: float
    due_at: float
    valid_until: float
    priority: int = 0
    hlr: str | None = None
    job_id: int | None = None
    smpp_receipt: int | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord(NewMessage):
    """A stored message: what was accepted, with its global number."""

    id: int = field(kw_only=True)

    @classmethod
    def from_row(cls, row: RowMapping) -> MessageRecord:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


_COLUMNS = [messages.c[f.name] for f in fields(MessageRecord)]
_NEW_FIELDS = [f.name for f in fields(NewMessage)]
_new_values = attrgetter(*_NEW_FIELDS)  # a NewMessage's values as a tuple, in _NEW_FIELDS order
_CLIENT_ID = _NEW_FIELDS.index("client_id")


async def insert_many(
    conn: AsyncConnection, rows: Sequence[NewMessage], client_ids: Sequence[str] | None = None
) -> list[int]:
    """Insert ``rows`` with one multi-row statement; their ids in the same order.

    ``client_ids``, when given, replaces each row's ``client_id`` (ids allocated in the same
    transaction).
    """
    if not rows:
        return []
    if conn.dialect.name == "sqlite":  # without per-row statement building: store/bulk.py
        values = [list(_new_values(row)) for row in rows]
        if client_ids is not None:
            for value, client_id in zip(values, client_ids, strict=True):
                value[_CLIENT_ID] = client_id
        return await bulk.insert_rows(conn, messages, _NEW_FIELDS, values)
    params = [{name: getattr(row, name) for name in _NEW_FIELDS} for row in rows]
    if client_ids is not None:
        for param, client_id in zip(params, client_ids, strict=True):
            param["client_id"] = client_id
    result = await conn.execute(
        insert(messages).returning(messages.c.id, sort_by_parameter_order=True), params
    )
    return [int(row_id) for row_id in result.scalars()]


async def find_latest(
    conn: AsyncConnection, account_id: int, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], MessageRecord]:
    """The most recent undeleted message of the account for each (client id, phone) pair."""
    if not pairs:
        return {}
    client_ids = {client_id for client_id, _ in pairs}
    phones = {phone for _, phone in pairs}
    rows = (
        await conn.execute(
            select(*_COLUMNS)
            .where(
                messages.c.account_id == account_id,
                messages.c.client_id.in_(client_ids),
                messages.c.phone.in_(phones),
                messages.c.deleted.is_(False),
            )
            .order_by(messages.c.id)
        )
    ).mappings()
    wanted = set(pairs)
    found: dict[tuple[str, str], MessageRecord] = {}
    for row in rows:
        key = (row["client_id"], row["phone"])
        if key in wanted:
            found[key] = MessageRecord.from_row(row)  # ascending ids: the last one wins
    return found


async def mark_deleted(conn: AsyncConnection, message_id: int, now: float) -> bool:
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.deleted.is_(False))
        .values(deleted=True, updated_at=now)
    )
    return result.rowcount == 1


async def cancel_waiting(
    conn: AsyncConnection, message_id: int, status: int, now: float
) -> Decimal | None:
    """Stop a message still waiting (status -1); its cost to refund, or None if it was not waiting."""
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.status == -1)
        .values(status=status, updated_at=now)
        .returning(messages.c.cost)
    )
    cost: Decimal | None = result.scalar_one_or_none()
    return cost


# A placeholder waits for the rest of a concatenated SMPP message: never due, costs nothing.
PLACEHOLDER_DUE_AT = 1e12


async def insert_placeholder(conn: AsyncConnection, row: NewMessage) -> int:
    """Store ``row`` as a placeholder (never due) and return its id: the message id the segments
    of a concatenated SMPP message are answered with before the message is complete."""
    params = {name: getattr(row, name) for name in _NEW_FIELDS}
    params.update(due_at=PLACEHOLDER_DUE_AT, cost=Decimal(0))
    result = await conn.execute(insert(messages).returning(messages.c.id), params)
    return int(result.scalar_one())


async def fill_placeholder(conn: AsyncConnection, message_id: int, row: NewMessage) -> None:
    """The complete message in place of its placeholder, keeping the id."""
    values = {name: getattr(row, name) for name in _NEW_FIELDS if name != "client_id"}
    await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


async def use_message_id_as_request_id(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """The request id of these messages is their own id (SMPP: status.php takes the message_id)."""
    await conn.execute(
        update(messages)
        .where(messages.c.id == bindparam("message_id"))
        .values(client_id=bindparam("request_id")),
        [{"message_id": i, "request_id": str(i)} for i in ids],
    )
