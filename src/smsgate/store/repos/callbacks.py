"""Callback deliveries: made from event rows, claimed under a lease, retried, inspected.

The events table is the durable source (every status change writes a row in the same transaction).
:func:`materialize` turns pending events into deliveries for accounts with a callback URL and clears
their flag in one transaction; on PostgreSQL it runs under an advisory lock so that only one node
does it at a time and deliveries are numbered in event order. :func:`claim` never returns a delivery
while an older one of the same message is still pending, so a message's callbacks go out in order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, exists, func, insert, or_, select, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.callbacks import (
    CallbackKind,
    DeliveryState,
    Fields,
    StatusEvent,
    dump_fields,
    status_fields,
)
from smsgate.store.schema import accounts, callback_deliveries, events, messages

# Arbitrary constant naming the advisory lock held while events become deliveries (PostgreSQL).
MATERIALIZE_LOCK = 7_342_118_008

_d = callback_deliveries
STATUS_KIND = int(CallbackKind.STATUS)
PENDING_STATE = int(DeliveryState.PENDING)
DELIVERED_STATE = int(DeliveryState.DELIVERED)


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: int
    account_id: int
    kind: int
    message_id: int | None
    fields: str
    attempts: int
    give_up_at: float


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    account_id: int
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    account_id: int
    kind: int
    event_id: int | None
    message_id: int | None
    fields: str
    state: int
    attempts: int
    created_at: float
    next_attempt_at: float
    give_up_at: float
    last_attempt_at: float | None
    last_status: int | None
    last_error: str | None

    @classmethod
    def from_row(cls, row: RowMapping) -> DeliveryRecord:
        return cls(**{name: row[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one try (or a deferral without a try) leaves on a delivery."""

    delivery_id: int
    state: DeliveryState
    tried: bool
    next_attempt_at: float
    last_status: int | None
    last_error: str | None


_DUE = [_d.c[name] for name in DueDelivery.__slots__]
_RECORD = [_d.c[name] for name in DeliveryRecord.__slots__]

# Statements of every status event and callback are built once (building one costs more than
# running it).
_PENDING_EVENTS = (
    select(
        events.c.id,
        events.c.message_id,
        events.c.account_id,
        events.c.status,
        events.c.err,
        events.c.at,
        messages.c.id,
        messages.c.client_id,
        messages.c.phone,
        messages.c.parts,
        messages.c.cost,
        messages.c.msg_type,
        messages.c.sender,
        messages.c.mccmnc,
        messages.c.comment,
        messages.c.hlr,
        accounts.c.tz_minutes,
        accounts.c.callback_url,
    )
    .select_from(
        events.outerjoin(messages, messages.c.id == events.c.message_id).outerjoin(
            accounts, accounts.c.id == events.c.account_id
        )
    )
    .where(events.c.callback_pending == true())
    .order_by(events.c.id)
    .limit(bindparam("limit", type_=Integer))
)
_NEW_DELIVERY = insert(_d)
_EVENTS_TAKEN = (
    update(events)
    .where(events.c.id.in_(bindparam("ids", expanding=True)))
    .values(callback_pending=False)
)
_OLDER = _d.alias("older")
_DUE_DELIVERIES = (
    select(_d.c.id)
    .where(
        _d.c.state == int(DeliveryState.PENDING),
        _d.c.next_attempt_at <= bindparam("now", type_=_d.c.next_attempt_at.type),
        or_(_d.c.lease_until.is_(None), _d.c.lease_until < bindparam("now")),
        or_(
            _d.c.message_id.is_(None),
            ~exists().where(
                _OLDER.c.message_id == _d.c.message_id,
                _OLDER.c.state == int(DeliveryState.PENDING),
                _OLDER.c.id < _d.c.id,
            ),
        ),
        _d.c.account_id.not_in(bindparam("skip", expanding=True)),
    )
    .order_by(_d.c.next_attempt_at, _d.c.id)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update(skip_locked=True, of=_d)  # PostgreSQL; SQLite has a single writer
)
_CLAIM = (
    update(_d)
    .where(_d.c.id.in_(_DUE_DELIVERIES.scalar_subquery()))
    .values(lease_until=bindparam("new_lease"))
    .returning(*_DUE)
)
_TARGETS = select(accounts.c.id, accounts.c.callback_url, accounts.c.callback_secret).where(
    accounts.c.id.in_(bindparam("ids", expanding=True))
)
_DELIVERED = (
    update(_d)
    .where(_d.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state=DELIVERED_STATE,
        attempts=_d.c.attempts + 1,
        next_attempt_at=bindparam("now"),
        lease_until=None,
        last_attempt_at=bindparam("now"),
        last_status=bindparam("status_code"),
        last_error=None,
    )
)
_TRIED = (
    update(_d)
    .where(_d.c.id == bindparam("delivery_id"))
    .values(
        state=bindparam("new_state"),
        attempts=_d.c.attempts + bindparam("tried"),
        next_attempt_at=bindparam("next_at"),
        lease_until=None,
        last_attempt_at=bindparam("tried_at"),
        last_status=bindparam("status_code"),
        last_error=bindparam("error"),
    )
)
_RELEASE = update(_d).where(_d.c.id.in_(bindparam("ids", expanding=True))).values(lease_until=None)


async def materialize(conn: AsyncConnection, now: float, limit: int, max_age_s: float) -> int:
    """Turn up to ``limit`` pending events into deliveries; how many events were taken."""
    if conn.dialect.name == "postgresql":
        locked = await conn.scalar(select(func.pg_try_advisory_xact_lock(MATERIALIZE_LOCK)))
        if not locked:
            return 0  # another node is at it
    rows = (await conn.execute(_PENDING_EVENTS, {"limit": limit})).all()
    taken: list[int] = []
    new: list[dict[str, object]] = []
    give_up_at = now + max_age_s
    for row in rows:  # positional: this loop runs once per callback
        (event_id, message_id, account_id, status, err, at, found, client_id, phone, parts) = row[
            :10
        ]
        (cost, msg_type, sender, mccmnc, comment, hlr, tz_minutes, callback_url) = row[10:]
        taken.append(event_id)
        if found is None or not callback_url:
            continue
        event = StatusEvent(
            client_id=client_id,
            phone=phone,
            status=status,
            err=err,
            at=at,
            parts=parts,
            cost=cost,
            msg_type=msg_type,
            sender=sender,
            mccmnc=mccmnc,
            comment=comment,
            hlr=hlr,
            tz_minutes=tz_minutes,
        )
        new.append(
            {
                "account_id": account_id,
                "kind": STATUS_KIND,
                "event_id": event_id,
                "message_id": message_id,
                "fields": dump_fields(status_fields(event)),
                "state": PENDING_STATE,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "give_up_at": give_up_at,
            }
        )
    if not taken:
        return 0
    if new:
        await conn.execute(_NEW_DELIVERY, new)
    await conn.execute(_EVENTS_TAKEN, {"ids": taken})
    return len(taken)


async def enqueue(
    conn: AsyncConnection,
    account_id: int,
    kind: CallbackKind,
    fields: Fields,
    now: float,
    max_age_s: float,
    *,
    message_id: int | None = None,
) -> int:
    """A callback of an event that has no event row (an incoming SMS, a call confirmation)."""
    row = _new_row(account_id, kind, fields, now, max_age_s, message_id=message_id)
    delivery_id = (await conn.execute(insert(_d).values(row).returning(_d.c.id))).scalar_one()
    return int(delivery_id)


def _new_row(
    account_id: int,
    kind: CallbackKind,
    fields: Fields,
    now: float,
    max_age_s: float,
    *,
    event_id: int | None = None,
    message_id: int | None = None,
) -> dict[str, object]:
    return {
        "account_id": account_id,
        "kind": int(kind),
        "event_id": event_id,
        "message_id": message_id,
        "fields": dump_fields(fields),
        "state": int(DeliveryState.PENDING),
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "give_up_at": now + max_age_s,
    }


async def claim(
    conn: AsyncConnection,
    now: float,
    limit: int,
    lease_until: float,
    skip_accounts: Collection[int] = (),
) -> list[DueDelivery]:
    """Lease up to ``limit`` due deliveries, oldest due first, none behind a pending older callback
    of the same message, none of the accounts in ``skip_accounts`` (their endpoint is resting)."""
    params = {"now": now, "limit": limit, "new_lease": lease_until, "skip": list(skip_accounts)}
    rows = (await conn.execute(_CLAIM, params)).all()
    return sorted((DueDelivery(*row) for row in rows), key=lambda d: d.id)


async def targets(conn: AsyncConnection, account_ids: Collection[int]) -> dict[int, CallbackTarget]:
    """The callback URL and secret of each account that has a URL."""
    if not account_ids:
        return {}
    rows = await conn.execute(_TARGETS, {"ids": list(account_ids)})
    return {
        int(row.id): CallbackTarget(int(row.id), row.callback_url, row.callback_secret or "")
        for row in rows
        if row.callback_url
    }


async def record(conn: AsyncConnection, outcomes: Sequence[Outcome], now: float) -> None:
    """Store what the tries did; the leases end.

    Successes (the bulk) take one statement per status code for all of them; the rest one
    parameter set each of a single executemany.
    """
    if not outcomes:
        return
    delivered: dict[int | None, list[int]] = {}
    others: list[Outcome] = []
    for o in outcomes:
        if o.state is DeliveryState.DELIVERED and o.tried and o.last_error is None:
            delivered.setdefault(o.last_status, []).append(o.delivery_id)
        else:
            others.append(o)
    for status, ids in delivered.items():
        await conn.execute(_DELIVERED, {"ids": ids, "now": now, "status_code": status})
    if not others:
        return
    await conn.execute(
        _TRIED,
        [
            {
                "delivery_id": o.delivery_id,
                "new_state": int(o.state),
                "tried": 1 if o.tried else 0,
                "next_at": o.next_attempt_at,
                "tried_at": now,
                "status_code": o.last_status,
                "error": o.last_error,
            }
            for o in others
        ],
    )


async def list_for_account(
    conn: AsyncConnection, account_id: int, state: DeliveryState | None, limit: int
) -> list[DeliveryRecord]:
    """The account's newest deliveries first."""
    query = select(*_RECORD).where(_d.c.account_id == account_id)
    if state is not None:
        query = query.where(_d.c.state == int(state))
    rows = (await conn.execute(query.order_by(_d.c.id.desc()).limit(limit))).mappings()
    return [DeliveryRecord.from_row(row) for row in rows]


async def get(conn: AsyncConnection, account_id: int, delivery_id: int) -> DeliveryRecord | None:
    row = (
        (
            await conn.execute(
                select(*_RECORD).where(_d.c.id == delivery_id, _d.c.account_id == account_id)
            )
        )
        .mappings()
        .first()
    )
    return DeliveryRecord.from_row(row) if row is not None else None


async def retry(
    conn: AsyncConnection,
    account_id: int,
    delivery_ids: Sequence[int] | None,
    now: float,
    max_age_s: float,
) -> int:
    """Try the account's failed deliveries (all, or those named) again from the first step of the
    schedule; how many were put back."""
    conditions = [_d.c.account_id == account_id, _d.c.state == int(DeliveryState.FAILED)]
    if delivery_ids is not None:
        conditions.append(_d.c.id.in_(list(delivery_ids)))
    result = await conn.execute(
        update(_d)
        .where(*conditions)
        .values(
            state=int(DeliveryState.PENDING),
            attempts=0,
            next_attempt_at=now,
            give_up_at=now + max_age_s,
            lease_until=None,
        )
    )
    return int(result.rowcount)


async def count_by_state(conn: AsyncConnection) -> dict[DeliveryState, int]:
    rows = await conn.execute(select(_d.c.state, func.count()).group_by(_d.c.state))
    return {DeliveryState(int(state)): int(n) for state, n in rows}


async def release(conn: AsyncConnection, delivery_ids: Sequence[int]) -> None:
    """End the leases of deliveries that were claimed but not tried (their handler was busy)."""
    if delivery_ids:
        await conn.execute(_RELEASE, {"ids": list(delivery_ids)})
