"""Stopping and resuming the waiting messages of a mailing (issue 4's hooks for jobs.php).

Only messages that are waiting and not being handed over are touched: once a dispatcher has marked
a message with its connector it may already be with the operator, and a stop must not pretend
otherwise. A message claimed but not yet marked can be stopped safely, because the mark only takes
messages that are still waiting (repos/dispatch.py ``mark_handing_over``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageStatus
from smsgate.store.repos import accounts as account_repo
from smsgate.store.schema import events, messages


async def stop_waiting(conn: AsyncConnection, job_id: int, now: float) -> list[int]:
    """Status -2 for the mailing's waiting messages (a paused or cancelled mailing); the ids."""
    rows = (
        await conn.execute(
            update(messages)
            .where(
                messages.c.job_id == job_id,
                messages.c.status == int(MessageStatus.WAITING),
                messages.c.connector.is_(None),
            )
            .values(status=int(MessageStatus.STOPPED), lease_until=None, updated_at=now)
            .returning(messages.c.id, messages.c.account_id)
        )
    ).all()
    await _log(conn, [(int(i), int(a)) for i, a in rows], int(MessageStatus.STOPPED), now)
    return [int(i) for i, _a in rows]


async def refund_stopped(conn: AsyncConnection, job_id: int, now: float) -> Decimal:
    """A cancelled mailing: the cost of its stopped messages back to the account, the messages
    free; the amount refunded. Run after :func:`stop_waiting` in the same transaction."""
    stopped = (
        messages.c.job_id == job_id,
        messages.c.status == int(MessageStatus.STOPPED),
        messages.c.cost != 0,
    )
    refunds = (
        await conn.execute(
            select(messages.c.account_id, func.sum(messages.c.cost))
            .where(*stopped)
            .group_by(messages.c.account_id)
        )
    ).all()
    await conn.execute(update(messages).where(*stopped).values(cost=Decimal(0), updated_at=now))
    amounts = {int(account_id): Decimal(amount) for account_id, amount in refunds}
    await account_repo.refund(conn, amounts, now)
    return sum(amounts.values(), Decimal(0))


async def resume_stopped(conn: AsyncConnection, job_id: int, now: float) -> list[int]:
    """The mailing's stopped messages wait again (a paused mailing resumed); the ids resumed.

    Cancelled mailings are never resumed (their messages were refunded): the caller checks the
    mailing's own state."""
    rows = (
        await conn.execute(
            update(messages)
            .where(
                messages.c.job_id == job_id,
                messages.c.status == int(MessageStatus.STOPPED),
            )
            .values(status=int(MessageStatus.WAITING), updated_at=now)
            .returning(messages.c.id, messages.c.account_id)
        )
    ).all()
    await _log(conn, [(int(i), int(a)) for i, a in rows], int(MessageStatus.WAITING), now)
    return [int(i) for i, _a in rows]


@dataclass(frozen=True, slots=True)
class StoppedMessage:
    """A stopped message of a mailing as a resume prices it again."""

    id: int
    account_id: int
    msg_type: int
    country: str | None
    operator: str | None
    parts: int
    test: bool


async def stopped_batch(conn: AsyncConnection, job_id: int, limit: int) -> list[StoppedMessage]:
    """Up to ``limit`` of the mailing's stopped messages, oldest first."""
    rows = await conn.execute(
        select(
            messages.c.id,
            messages.c.account_id,
            messages.c.msg_type,
            messages.c.country,
            messages.c.operator,
            messages.c.parts,
            messages.c.test,
        )
        .where(messages.c.job_id == job_id, messages.c.status == int(MessageStatus.STOPPED))
        .order_by(messages.c.id)
        .limit(limit)
    )
    return [StoppedMessage(*row) for row in rows]


async def release_stopped(
    conn: AsyncConnection, priced: Sequence[tuple[StoppedMessage, Decimal]], now: float
) -> int:
    """The given stopped messages wait again, due now, charged ``cost`` each (the caller has
    debited the total) and valid as long as they were; how many were still stopped."""
    if not priced:
        return 0
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == bindparam("mid"), messages.c.status == int(MessageStatus.STOPPED))
        .values(
            status=int(MessageStatus.WAITING),
            cost=bindparam("new_cost"),
            valid_until=messages.c.valid_until - messages.c.due_at + now,
            due_at=now,
            updated_at=now,
        ),
        [{"mid": m.id, "new_cost": cost} for m, cost in priced],
    )
    await _log(conn, [(m.id, m.account_id) for m, _ in priced], int(MessageStatus.WAITING), now)
    return int(result.rowcount)


async def starve_stopped(
    conn: AsyncConnection, stopped: Sequence[StoppedMessage], now: float
) -> None:
    """Stopped messages a resume could not pay for: status 24 (insufficient funds), final."""
    if not stopped:
        return
    await conn.execute(
        update(messages)
        .where(messages.c.id == bindparam("mid"), messages.c.status == int(MessageStatus.STOPPED))
        .values(status=int(MessageStatus.NO_FUNDS), cost=Decimal(0), updated_at=now),
        [{"mid": m.id} for m in stopped],
    )
    await _log(conn, [(m.id, m.account_id) for m in stopped], int(MessageStatus.NO_FUNDS), now)


async def run_recipients(
    conn: AsyncConnection, account_id: int, job_id: int, request_id: str
) -> set[str]:
    """The recipients a run has stored messages for (a run taken over skips them)."""
    rows = await conn.execute(
        select(messages.c.phone).where(
            messages.c.account_id == account_id,
            messages.c.client_id == request_id,
            messages.c.job_id == job_id,
        )
    )
    return {str(phone) for (phone,) in rows}


async def _log(
    conn: AsyncConnection, changed: list[tuple[int, int]], status: int, now: float
) -> None:
    if changed:
        await conn.execute(
            insert(events),
            [
                {"message_id": i, "account_id": a, "status": status, "err": 0, "at": now}
                for i, a in changed
            ],
        )
