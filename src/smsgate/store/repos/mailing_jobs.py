"""Mailing rows (jobs.php): create, read, cancel, delete, resume, and the scheduler's claims.

A run is expanded under a claim: :func:`claim` hands a due mailing to one runner with a fresh
``claim`` token and a lease; every batch the runner stores first moves ``run_done`` forward with
:func:`advance`, on the condition that the token is still the mailing's and ``run_done`` is what the
runner read. Anything else (a cancel, a delete, a takeover after the lease ran out) makes that update
touch no row and the batch is not stored, so no entry is ever expanded twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.mailings import MailingStatus
from smsgate.store.schema import accounts, mailings


@dataclass(frozen=True, slots=True)
class MailingRecord:
    id: int
    account_id: int
    name: str
    status: int
    created_at: float
    first_run_at: float
    next_run_at: float | None
    rpt: int
    rptn: int | None
    msg_type: int
    sender: str | None
    mes: str
    cnt: int
    test: bool
    retry: bool
    sender2: str | None
    mes2: str | None
    runs: int
    run_id: str | None
    run_at: float | None
    run_open: bool
    run_total: int
    run_done: int
    run_cost: Decimal
    run_broke: bool
    resume: bool
    claim: str | None
    error: str | None

    @classmethod
    def from_row(cls, row: RowMapping) -> MailingRecord:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


_COLUMNS = [mailings.c[f.name] for f in fields(MailingRecord)]
_FIELDS = frozenset(f.name for f in fields(MailingRecord))


async def insert_mailing(conn: AsyncConnection, values: Mapping[str, Any]) -> int:
    result = await conn.execute(insert(mailings).returning(mailings.c.id), dict(values))
    return int(result.scalar_one())


async def get(conn: AsyncConnection, account_id: int, mailing_id: int) -> MailingRecord | None:
    """The account's mailing (never another account's, never a deleted one)."""
    row = (
        (
            await conn.execute(
                select(*_COLUMNS).where(
                    mailings.c.id == mailing_id,
                    mailings.c.account_id == account_id,
                    mailings.c.deleted.is_(False),
                )
            )
        )
        .mappings()
        .first()
    )
    return MailingRecord.from_row(row) if row else None


async def by_id(conn: AsyncConnection, mailing_id: int) -> MailingRecord | None:
    row = (await conn.execute(select(*_COLUMNS).where(mailings.c.id == mailing_id))).mappings()
    found = row.first()
    return MailingRecord.from_row(found) if found else None


async def list_for(
    conn: AsyncConnection, account_id: int, start: float, end: float
) -> list[MailingRecord]:
    """The account's mailings created in [start, end), oldest first."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(
            mailings.c.account_id == account_id,
            mailings.c.deleted.is_(False),
            mailings.c.created_at >= start,
            mailings.c.created_at < end,
        )
        .order_by(mailings.c.id)
    )
    return [MailingRecord.from_row(r) for r in rows.mappings()]


async def request_of(conn: AsyncConnection, mailing_id: int) -> bytes:
    stored = await conn.scalar(select(mailings.c.request).where(mailings.c.id == mailing_id))
    return bytes(stored or b"")


def _owned(account_id: int, mailing_id: int) -> tuple[Any, ...]:
    return (
        mailings.c.id == mailing_id,
        mailings.c.account_id == account_id,
        mailings.c.deleted.is_(False),
    )


_UNCLAIMED = {"runner": None, "claim": None, "lease_until": None}


async def cancel(conn: AsyncConnection, account_id: int, mailing_id: int, now: float) -> bool:
    """Status 3, no further runs, any claim withdrawn; False when the account has no such job."""
    result = await conn.execute(
        update(mailings)
        .where(*_owned(account_id, mailing_id))
        .values(
            status=int(MailingStatus.CANCELLED),
            next_run_at=None,
            resume=False,
            updated_at=now,
            **_UNCLAIMED,
        )
    )
    return result.rowcount == 1


async def delete(conn: AsyncConnection, account_id: int, mailing_id: int, now: float) -> bool:
    result = await conn.execute(
        update(mailings)
        .where(*_owned(account_id, mailing_id))
        .values(
            deleted=True,
            status=int(MailingStatus.CANCELLED),
            next_run_at=None,
            resume=False,
            updated_at=now,
            **_UNCLAIMED,
        )
    )
    return result.rowcount == 1


async def resume(conn: AsyncConnection, record: MailingRecord, now: float) -> bool:
    """A cancelled (or failed) mailing waits again: before its first run for that run, else for
    the scheduler to release its stopped messages and finish its run. False if it changed since
    ``record`` was read."""
    values: dict[str, Any] = {"status": int(MailingStatus.WAITING), "updated_at": now}
    if record.runs == 0:
        values.update(next_run_at=max(record.first_run_at, now), resume=False)
    else:
        values.update(next_run_at=now, resume=True)
    result = await conn.execute(
        update(mailings)
        .where(
            *_owned(record.account_id, record.id),
            mailings.c.status == record.status,
        )
        .values(error=None, **values)
    )
    return result.rowcount == 1


async def claim(
    conn: AsyncConnection, *, now: float, lease_until: float, runner: str, limit: int
) -> list[MailingRecord]:
    """Up to ``limit`` mailings due now or whose runner's lease ran out, claimed for ``runner``.

    A due mailing without an open run (and no resume pending) starts its next run here: one
    request id from its account's counter for all the run's recipients, as one send.php request.
    """
    due = or_(
        and_(mailings.c.status == int(MailingStatus.WAITING), mailings.c.next_run_at <= now),
        and_(mailings.c.status == int(MailingStatus.RUNNING), mailings.c.lease_until < now),
    )
    candidates = (
        await conn.execute(
            select(*_COLUMNS)
            .where(due, mailings.c.deleted.is_(False))
            .order_by(mailings.c.next_run_at, mailings.c.id)
            .limit(limit)
        )
    ).mappings()
    claimed: list[MailingRecord] = []
    for row in list(candidates):
        record = MailingRecord.from_row(row)
        values: dict[str, Any] = {
            "status": int(MailingStatus.RUNNING),
            "runner": runner,
            "claim": secrets.token_hex(16),
            "lease_until": lease_until,
            "updated_at": now,
        }
        if record.retry:  # fl[5]: the repeat step looks at its messages again
            values["retry_open"] = True
            if record.resume:  # stopped messages below the floor go out again
                values["retry_floor"] = 0
        starts = record.status == MailingStatus.WAITING and not record.run_open
        if starts and not record.resume:
            values.update(
                runs=record.runs + 1,
                run_id=await _next_request_id(conn, record.account_id),
                run_at=record.next_run_at,
                run_open=True,
                run_total=0,
                run_done=0,
                run_cost=Decimal(0),
                run_broke=False,
            )
        result = await conn.execute(
            update(mailings)
            .where(
                mailings.c.id == record.id,
                mailings.c.status == record.status,
                mailings.c.claim.is_(None)
                if record.claim is None
                else mailings.c.claim == record.claim,
            )
            .values(**values)
        )
        if result.rowcount == 1:
            changed = {k: v for k, v in values.items() if k in _FIELDS}
            claimed.append(replace(record, **changed))
    return claimed


async def _next_request_id(conn: AsyncConnection, account_id: int) -> str:
    last = (
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(last_request_id=accounts.c.last_request_id + 1)
            .returning(accounts.c.last_request_id)
        )
    ).scalar_one()
    return str(int(last))


async def advance(
    conn: AsyncConnection,
    record: MailingRecord,
    *,
    done_before: int,
    done_after: int,
    total: int,
    lease_until: float,
    now: float,
) -> bool:
    """Move the run from ``done_before`` to ``done_after`` entries (and renew the lease) if the
    claim is still current; the caller stores the batch only when this returns True."""
    result = await conn.execute(
        update(mailings)
        .where(
            mailings.c.id == record.id,
            mailings.c.claim == record.claim,
            mailings.c.status == int(MailingStatus.RUNNING),
            mailings.c.run_done == done_before,
        )
        .values(run_done=done_after, run_total=total, lease_until=lease_until, updated_at=now)
    )
    return result.rowcount == 1


async def add_cost(
    conn: AsyncConnection, mailing_id: int, cost: Decimal, *, broke: bool, cnt: int | None
) -> None:
    values: dict[str, Any] = {"run_cost": mailings.c.run_cost + cost, "run_broke": broke}
    if cnt is not None:
        values["cnt"] = cnt
    await conn.execute(update(mailings).where(mailings.c.id == mailing_id).values(**values))


async def renew(conn: AsyncConnection, record: MailingRecord, lease_until: float) -> bool:
    result = await conn.execute(
        update(mailings)
        .where(mailings.c.id == record.id, mailings.c.claim == record.claim)
        .values(lease_until=lease_until)
    )
    return result.rowcount == 1


async def release(
    conn: AsyncConnection,
    record: MailingRecord,
    *,
    status: MailingStatus,
    next_run_at: float | None,
    now: float,
    error: str | None = None,
) -> bool:
    """End the claim: the run closed, the resume done, the mailing waiting for ``next_run_at`` (or
    completed, or failed)."""
    result = await conn.execute(
        update(mailings)
        .where(mailings.c.id == record.id, mailings.c.claim == record.claim)
        .values(
            status=int(status),
            next_run_at=next_run_at,
            run_open=False,
            resume=False,
            error=error,
            updated_at=now,
            **_UNCLAIMED,
        )
    )
    return result.rowcount == 1


async def resumed(conn: AsyncConnection, record: MailingRecord) -> bool:
    """The stopped messages are released: the resume is done, the run (if open) goes on."""
    result = await conn.execute(
        update(mailings)
        .where(mailings.c.id == record.id, mailings.c.claim == record.claim)
        .values(resume=False)
    )
    return result.rowcount == 1
