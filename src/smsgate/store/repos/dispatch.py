"""The message queue: claiming due messages under a lease and recording what channels report.

The database is the queue (DESIGN.md): a claim is one statement that marks a batch of due messages as
leased until ``lease_until`` and returns them; on PostgreSQL the candidate rows are locked with
``FOR UPDATE SKIP LOCKED`` so that dispatchers on several nodes never take the same message. A lease
that runs out (its dispatcher died) makes the message claimable again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, bindparam, insert, literal_column, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.repos import accounts as account_repo
from smsgate.store.schema import events, messages


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    account_id: int
    phone: str
    msg_type: int
    sender: str | None
    text: str
    parts: int
    encoding: int
    options: str | None
    test: bool
    valid_until: float
    attempts: int
    priority: int
    country: str | None
    operator: str | None
    cost: Decimal
    # Set while a hand-over to this connector is in progress: a message claimed again with a
    # connector but still waiting (-1) is "in doubt" (its dispatcher died mid hand-over).
    connector: str | None


@dataclass(frozen=True, slots=True)
class StatusChange:
    message_id: int
    account_id: int
    status: int
    err: int
    # An HLR answer (JSON) that came with the change.
    hlr: str | None = None


@dataclass(frozen=True, slots=True)
class Transferred:
    """A message in status 0 as its receipts find it."""

    id: int
    account_id: int
    provider_id: str
    parts: int
    parts_received: int
    failed_err: int | None


_CLAIMED = [messages.c[name] for name in ClaimedMessage.__slots__]
# The columns of a Transferred, in its order (for the lookups here and in repos/correlation.py).
TRANSFERRED = [messages.c[name] for name in Transferred.__slots__]


# The waiting-queue predicate as a literal, so that both databases can use the partial index
# ``ix_messages_waiting`` (a bound parameter would not prove ``status = -1`` to the planner).
_WAITING = messages.c.status == literal_column("-1")


def status_is(status: int) -> Any:
    """``status = :status`` that no index can serve (``status + 0``), for statements that name
    their messages by id or provider id: without statistics, SQLite would otherwise walk the
    status index through every message in that status (all those awaiting receipts, say) instead
    of looking the few named ones up."""
    return (messages.c.status + literal_column("0")) == status


# SQLite's planner, without statistics, prefers ix_messages_status_priority_due for ``status = -1``
# and would read the whole queue; the hint names the partial index (PostgreSQL picks it itself).
_WAITING_ACCOUNTS = """
    WITH RECURSIVE waiting(account_id, n) AS (
        SELECT (SELECT min(account_id) FROM messages{hint}
                WHERE status = -1 AND account_id > :after), 1
        UNION ALL
        SELECT (SELECT min(m.account_id) FROM messages AS m{hint}
                WHERE m.status = -1 AND m.account_id > waiting.account_id), waiting.n + 1
        FROM waiting WHERE waiting.account_id IS NOT NULL AND waiting.n < :limit
    )
    SELECT account_id FROM waiting WHERE account_id IS NOT NULL
"""
_WAITING_ACCOUNTS_BY_DIALECT = {
    "sqlite": text(_WAITING_ACCOUNTS.format(hint=" INDEXED BY ix_messages_waiting")),
    "postgresql": text(_WAITING_ACCOUNTS.format(hint="")),
}

# The statements below run for every message or batch of messages: they are built once, with bound
# parameters, because building a statement costs several times what running it does.


def _claim_statement(one_account: bool) -> Any:
    now = bindparam("now", type_=messages.c.due_at.type)
    due = (
        select(messages.c.id)
        .where(
            _WAITING,
            messages.c.due_at <= now,
            or_(messages.c.lease_until.is_(None), messages.c.lease_until < now),
        )
        .order_by(messages.c.priority, messages.c.due_at, messages.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's single writer needs no locks
    )
    if one_account:
        due = due.where(messages.c.account_id == bindparam("of_account"))
    return (
        update(messages)
        .where(messages.c.id.in_(due.scalar_subquery()))
        .values(lease_until=bindparam("new_lease"), attempts=messages.c.attempts + 1)
        .returning(*_CLAIMED)
    )


_CLAIM = _claim_statement(one_account=False)
_CLAIM_OF_ACCOUNT = _claim_statement(one_account=True)
_RECORD_SUBMITTED = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"), messages.c.status == -1)
    .values(
        status=0,
        connector=bindparam("new_connector"),
        provider_id=bindparam("provider_id"),
        lease_until=None,
        updated_at=bindparam("now"),
    )
)
_RECORD_FINAL = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(
        status=bindparam("new_status"),
        err=bindparam("new_err"),
        hlr=bindparam("new_hlr"),
        lease_until=None,
        updated_at=bindparam("now"),
    )
)
_RETRY_LATER = (
    update(messages)
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        due_at=bindparam("new_due_at"),
        lease_until=None,
        connector=None,
        updated_at=bindparam("now"),
    )
)
_DEFER = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(
        due_at=bindparam("new_due_at"),
        lease_until=None,
        connector=None,
        attempts=messages.c.attempts - 1,
        updated_at=bindparam("now"),
    )
)


def _handing_over_statement(under_lease: bool) -> Any:
    statement = (
        update(messages)
        .where(messages.c.id.in_(bindparam("ids", expanding=True)), status_is(-1))
        .values(connector=bindparam("new_connector"), updated_at=bindparam("now"))
        .returning(messages.c.id)
    )
    if under_lease:
        statement = statement.where(messages.c.lease_until == bindparam("lease"))
    return statement


_HANDING_OVER = _handing_over_statement(under_lease=False)
_HANDING_OVER_UNDER_LEASE = _handing_over_statement(under_lease=True)
_FIND_TRANSFERRED = select(*TRANSFERRED).where(
    messages.c.connector == bindparam("of_connector"),
    messages.c.provider_id.in_(bindparam("provider_ids", expanding=True)),
    status_is(0),
)
_RECORD_PARTS = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(
        parts_received=bindparam("received"),
        failed_err=bindparam("failed"),
        updated_at=bindparam("now"),
    )
)
_LOG_EVENT = insert(events)


async def waiting_accounts(conn: AsyncConnection, after: int, limit: int) -> list[int]:
    """Up to ``limit`` accounts with waiting messages, in id order after ``after``.

    A loose index scan (one index probe per account, whatever the backlog), so the dispatcher can
    share every batch among the accounts that wait without reading their queues."""
    statement = _WAITING_ACCOUNTS_BY_DIALECT[conn.dialect.name]
    rows = await conn.execute(statement, {"after": after, "limit": limit})
    return [int(account_id) for (account_id,) in rows]


async def claim(
    conn: AsyncConnection,
    now: float,
    limit: int,
    lease_until: float,
    *,
    account_id: int | None = None,
) -> list[ClaimedMessage]:
    """Lease up to ``limit`` due messages (of one account, or of any): priority 0 (codes, single
    sends) first, then oldest due."""
    params: dict[str, Any] = {"now": now, "limit": limit, "new_lease": lease_until}
    statement = _CLAIM
    if account_id is not None:
        statement = _CLAIM_OF_ACCOUNT
        params["of_account"] = account_id
    rows = (await conn.execute(statement, params)).mappings()
    return [ClaimedMessage(**row) for row in rows]


async def record_submitted(
    conn: AsyncConnection,
    accepted: Sequence[tuple[ClaimedMessage, str]],
    connector: str,
    now: float,
) -> None:
    """Status 0 (transferred) with the channel's id, lease released."""
    if not accepted:
        return
    await conn.execute(
        _RECORD_SUBMITTED,
        [
            {"message_id": m.id, "new_connector": connector, "provider_id": pid, "now": now}
            for m, pid in accepted
        ],
    )
    await _log_events(conn, [StatusChange(m.id, m.account_id, 0, 0) for m, _ in accepted], now)


async def record_final(conn: AsyncConnection, changes: Sequence[StatusChange], now: float) -> None:
    """Final statuses (from receipts, permanent failures, expiry), with an HLR answer if any."""
    if not changes:
        return
    await conn.execute(
        _RECORD_FINAL,
        [
            {
                "message_id": c.message_id,
                "new_status": c.status,
                "new_err": c.err,
                "new_hlr": c.hlr,
                "now": now,
            }
            for c in changes
        ],
    )
    await _log_events(conn, changes, now)


async def record_unroutable(
    conn: AsyncConnection, unroutable: Sequence[ClaimedMessage], now: float
) -> None:
    """No route for these: status 25, err 248, and their cost back to the account (http-api.md §2.10)."""
    if not unroutable:
        return
    await conn.execute(
        update(messages)
        .where(messages.c.id == bindparam("message_id"))
        .values(
            status=25, err=248, cost=Decimal(0), connector=None, lease_until=None, updated_at=now
        ),
        [{"message_id": m.id} for m in unroutable],
    )
    refunds: dict[int, Decimal] = defaultdict(Decimal)
    for message in unroutable:
        refunds[message.account_id] += message.cost
    await account_repo.refund(conn, refunds, now)
    await _log_events(conn, [StatusChange(m.id, m.account_id, 25, 248) for m in unroutable], now)


async def retry_later(conn: AsyncConnection, ids: Sequence[int], due_at: float, now: float) -> None:
    """Back to waiting until ``due_at`` (a transient failure: the channel did not take it)."""
    if ids:
        await conn.execute(_RETRY_LATER, {"ids": list(ids), "new_due_at": due_at, "now": now})


async def defer(conn: AsyncConnection, due: Sequence[tuple[int, float]], now: float) -> None:
    """Back to waiting until a later moment without counting as an attempt (the connector's rate or
    window was full): (message id, new due time)."""
    if due:
        await conn.execute(
            _DEFER, [{"message_id": i, "new_due_at": at, "now": now} for i, at in due]
        )


async def mark_handing_over(
    conn: AsyncConnection,
    ids: Sequence[int],
    connector: str,
    now: float,
    lease_until: float | None = None,
) -> set[int]:
    """Record, before the hand-over, which connector these messages are being handed to; the ids
    marked. With ``lease_until``, only messages still under that lease (the caller's claim) are:
    a dispatcher that stalled past its lease must not hand over what another has claimed since."""
    if not ids:
        return set()
    params: dict[str, Any] = {"ids": list(ids), "new_connector": connector, "now": now}
    statement = _HANDING_OVER
    if lease_until is not None:
        statement = _HANDING_OVER_UNDER_LEASE
        params["lease"] = lease_until
    return {int(i) for (i,) in await conn.execute(statement, params)}


async def find_transferred(
    conn: AsyncConnection, connector: str, provider_ids: Sequence[str]
) -> dict[str, Transferred]:
    params = {"of_connector": connector, "provider_ids": list(set(provider_ids))}
    rows = await conn.execute(_FIND_TRANSFERRED, params)
    return {row.provider_id: Transferred(*row) for row in rows}


async def record_parts(
    conn: AsyncConnection, progress: Sequence[tuple[int, int, int | None]], now: float
) -> None:
    """Receipts of some, not all, parts: (message id, parts received, err of a failed part)."""
    if progress:
        await conn.execute(
            _RECORD_PARTS,
            [{"message_id": i, "received": n, "failed": f, "now": now} for i, n, f in progress],
        )


async def expire_silent(conn: AsyncConnection, cutoff: float, now: float) -> list[StatusChange]:
    """Messages still waiting for receipts although their validity ended before ``cutoff``: final
    status 3 with err 245, "status not received" (codes.md §3.1)."""
    rows = await conn.execute(
        update(messages)
        .where(messages.c.status == 0, messages.c.valid_until < cutoff)
        .values(status=3, err=245, updated_at=now)
        .returning(messages.c.id, messages.c.account_id)
    )
    changes = [StatusChange(int(i), int(a), 3, 245) for i, a in rows]
    if changes:
        await _log_events(conn, changes, now)
    return changes


async def _log_events(conn: AsyncConnection, changes: Sequence[StatusChange], now: float) -> None:
    await conn.execute(
        _LOG_EVENT,
        [
            {
                "message_id": c.message_id,
                "account_id": c.account_id,
                "status": c.status,
                "err": c.err,
                "at": now,
            }
            for c in changes
        ],
    )
