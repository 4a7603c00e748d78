"""Stopping and resuming the waiting messages of a mailing (issue 4's hooks for jobs.php).

Only messages that are waiting and not being handed over are touched: once a dispatcher has marked
a message with its connector it may already be with the operator, and a stop must not pretend
otherwise. A message claimed but not yet marked can be stopped safely, because the mark only takes
messages that are still waiting (repos/dispatch.py ``mark_handing_over``).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageStatus
from smsgate.store.schema import accounts, events, messages


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
    total = Decimal(0)
    for account_id, amount in refunds:
        amount = Decimal(amount)
        total += amount
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(balance=accounts.c.balance + amount, updated_at=now)
        )
    return total


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
