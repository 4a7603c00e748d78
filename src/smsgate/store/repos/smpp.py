"""What the SMPP server keeps in the store: segments of concatenated submits, the lookups of query_sm
and cancel_sm, and the receipt cursors (protocols.md §3.6, §3.7, §3.9)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageStatus
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos.messages import PLACEHOLDER_DUE_AT
from smsgate.store.schema import (
    events,
    messages,
    smpp_receipt_cursors,
    smpp_segments,
)

# --- segments -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredSegment:
    """The message id the segment is answered with, and the whole text once every part is in."""

    message_id: int
    complete_text: str | None


async def store_segment(
    conn: AsyncConnection,
    account_id: int,
    reference: str,
    seq: int,
    total: int,
    text: str,
    now: float,
    new_placeholder: int | None,
) -> StoredSegment | None:
    """Store one segment. ``None`` when this is the first segment and no placeholder was given
    (the caller then allocates one and calls again); a repeated segment number keeps the first."""
    existing = (
        await conn.execute(
            select(smpp_segments.c.seq, smpp_segments.c.message_id, smpp_segments.c.text)
            .where(
                smpp_segments.c.account_id == account_id,
                smpp_segments.c.reference == reference,
            )
            .order_by(smpp_segments.c.seq)
        )
    ).all()
    if existing:
        message_id = int(existing[0].message_id)
    elif new_placeholder is None:
        return None
    else:
        message_id = new_placeholder
    parts = {int(row.seq): str(row.text) for row in existing}
    if seq not in parts:
        await conn.execute(
            insert(smpp_segments).values(
                account_id=account_id,
                reference=reference,
                seq=seq,
                total=total,
                message_id=message_id,
                text=text,
                received_at=now,
            )
        )
        parts[seq] = text
    if len(parts) < total:
        return StoredSegment(message_id, None)
    return StoredSegment(message_id, "".join(parts[n] for n in sorted(parts)))


async def forget_segments(conn: AsyncConnection, account_id: int, reference: str) -> None:
    await conn.execute(
        delete(smpp_segments).where(
            smpp_segments.c.account_id == account_id, smpp_segments.c.reference == reference
        )
    )


async def expire_segments(conn: AsyncConnection, cutoff: float, now: float) -> list[int]:
    """Messages whose segments stopped arriving before ``cutoff``: status 20, err 241, not charged
    (protocols.md §3.6); the ids."""
    stale = (
        await conn.execute(
            select(smpp_segments.c.message_id, smpp_segments.c.account_id)
            .group_by(smpp_segments.c.message_id, smpp_segments.c.account_id)
            .having(func.max(smpp_segments.c.received_at) < cutoff)
        )
    ).all()
    ids = [int(m) for m, _a in stale]
    if not ids:
        return []
    done = (
        await conn.execute(
            update(messages)
            .where(messages.c.id.in_(ids), messages.c.due_at == PLACEHOLDER_DUE_AT)
            .values(status=20, err=241, due_at=now, valid_until=now, updated_at=now)
            .returning(messages.c.id, messages.c.account_id)
        )
    ).all()
    await conn.execute(delete(smpp_segments).where(smpp_segments.c.message_id.in_(ids)))
    await _log(conn, [(int(i), int(a), 20, 241) for i, a in done], now)
    return [int(i) for i, _a in done]


async def fail_placeholder(
    conn: AsyncConnection, message_id: int, status: int, err: int, now: float
) -> None:
    """A placeholder whose complete message was refused: final with ``status``/``err``."""
    done = (
        await conn.execute(
            update(messages)
            .where(messages.c.id == message_id, messages.c.due_at == PLACEHOLDER_DUE_AT)
            .values(status=status, err=err, due_at=now, valid_until=now, updated_at=now)
            .returning(messages.c.account_id)
        )
    ).scalar_one_or_none()
    if done is not None:
        await _log(conn, [(message_id, int(done), status, err)], now)


# --- query_sm and cancel_sm -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageState:
    id: int
    status: int
    err: int
    updated_at: float


async def message_state(
    conn: AsyncConnection, account_id: int, message_id: int
) -> MessageState | None:
    row = (
        await conn.execute(
            select(messages.c.id, messages.c.status, messages.c.err, messages.c.updated_at).where(
                messages.c.id == message_id,
                messages.c.account_id == account_id,
                messages.c.deleted.is_(False),
            )
        )
    ).first()
    return MessageState(int(row.id), int(row.status), int(row.err), row.updated_at) if row else None


async def cancel_waiting(
    conn: AsyncConnection,
    account_id: int,
    now: float,
    *,
    message_id: int | None = None,
    addresses: tuple[str, str] | None = None,
) -> list[int]:
    """Status -2 and a refund for the account's waiting messages (by id, or by sender and
    destination); those already being handed over cannot be cancelled. The ids cancelled."""
    conditions = [
        messages.c.account_id == account_id,
        messages.c.status == int(MessageStatus.WAITING),
        messages.c.connector.is_(None),
        messages.c.due_at != PLACEHOLDER_DUE_AT,
    ]
    if message_id is not None:
        conditions.append(messages.c.id == message_id)
    if addresses is not None:
        source, destination = addresses
        conditions.append(messages.c.phone == destination.lstrip("+"))
        conditions.append(
            messages.c.sender.is_(None) if source in ("", ".") else messages.c.sender == source
        )
    rows = (
        await conn.execute(
            select(messages.c.id, messages.c.cost).where(*conditions).with_for_update()
        )
    ).all()
    if not rows:
        return []
    ids = [int(i) for i, _c in rows]
    await conn.execute(
        update(messages)
        .where(messages.c.id.in_(ids), messages.c.status == int(MessageStatus.WAITING))
        .values(status=int(MessageStatus.STOPPED), cost=Decimal(0), updated_at=now)
    )
    refund = sum((Decimal(c) for _i, c in rows), Decimal(0))
    await account_repo.refund(conn, {account_id: refund}, now)
    await _log(conn, [(i, account_id, int(MessageStatus.STOPPED), 0) for i in ids], now)
    return ids


# --- receipt cursors ------------------------------------------------------------------------------


async def lease_cursor(
    conn: AsyncConnection, account_id: int, node: str, now: float, lease_until: float
) -> int | None:
    """Take or renew the account's receipt cursor for ``node``; the last event delivered, or
    None while another node holds it (or the account never bound: :func:`open_cursor`)."""
    taken = (
        await conn.execute(
            update(smpp_receipt_cursors)
            .where(
                smpp_receipt_cursors.c.account_id == account_id,
                or_(
                    smpp_receipt_cursors.c.lease_node == node,
                    smpp_receipt_cursors.c.lease_until.is_(None),
                    smpp_receipt_cursors.c.lease_until < now,
                ),
            )
            .values(lease_node=node, lease_until=lease_until)
            .returning(smpp_receipt_cursors.c.last_event_id)
        )
    ).scalar_one_or_none()
    return int(taken) if taken is not None else None


async def open_cursor(conn: AsyncConnection, account_id: int) -> None:
    """Make sure the account has a receipt cursor (at the newest event), before its first submit:
    receipts of messages submitted while no receiver is bound are kept from then on."""
    newest = (await conn.execute(select(func.max(events.c.id)))).scalar()
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    await conn.execute(
        dialect_insert(smpp_receipt_cursors)
        .values(account_id=account_id, last_event_id=int(newest or 0))
        .on_conflict_do_nothing(index_elements=["account_id"])
    )


async def advance_cursor(
    conn: AsyncConnection, account_id: int, node: str, last_event_id: int
) -> None:
    await conn.execute(
        update(smpp_receipt_cursors)
        .where(
            smpp_receipt_cursors.c.account_id == account_id,
            smpp_receipt_cursors.c.lease_node == node,
            smpp_receipt_cursors.c.last_event_id < last_event_id,
        )
        .values(last_event_id=last_event_id)
    )


async def release_cursor(conn: AsyncConnection, account_id: int, node: str) -> None:
    await conn.execute(
        update(smpp_receipt_cursors)
        .where(
            smpp_receipt_cursors.c.account_id == account_id,
            smpp_receipt_cursors.c.lease_node == node,
        )
        .values(lease_node=None, lease_until=None)
    )


@dataclass(frozen=True, slots=True)
class ReceiptEvent:
    """A status change of an SMPP-submitted message, with what its receipt needs."""

    event_id: int
    message_id: int
    status: int
    err: int
    at: float
    receipt: int
    phone: str
    sender: str | None
    text: str
    msg_type: int
    created_at: float
    hlr: str | None


async def receipt_events(
    conn: AsyncConnection, account_id: int, after: int, since: float, limit: int
) -> tuple[list[ReceiptEvent], int]:
    """Status changes after event ``after`` of the account's SMPP messages that asked for
    receipts, not older than ``since``; and the last event id looked at (the cursor may move past
    changes that need no receipt)."""
    scanned = (
        (
            await conn.execute(
                select(events.c.id)
                .where(events.c.account_id == account_id, events.c.id > after)
                .order_by(events.c.id)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not scanned:
        return [], after
    last = int(scanned[-1])
    rows = await conn.execute(
        select(
            events.c.id.label("event_id"),
            events.c.message_id,
            events.c.status,
            events.c.err,
            events.c.at,
            messages.c.smpp_receipt.label("receipt"),
            messages.c.phone,
            messages.c.sender,
            messages.c.text,
            messages.c.msg_type,
            messages.c.created_at,
            messages.c.hlr,
        )
        .join(messages, messages.c.id == events.c.message_id)
        .where(
            events.c.account_id == account_id,
            events.c.id > after,
            events.c.id <= last,
            events.c.at >= since,
            messages.c.smpp_receipt.is_not(None),
            messages.c.smpp_receipt != 0,
        )
        .order_by(events.c.id)
    )
    return [ReceiptEvent(**row) for row in rows.mappings()], last


async def _log(
    conn: AsyncConnection, changes: Sequence[tuple[int, int, int, int]], now: float
) -> None:
    if changes:
        await conn.execute(
            insert(events),
            [
                {"message_id": i, "account_id": a, "status": s, "err": e, "at": now}
                for i, a, s, e in changes
            ],
        )
