"""Parts of concatenated incoming messages from upstream connectors, and who receives a message
(protocols.md §3.8; http-api.md §12: incoming SMS to a rented number belong to the renter)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.inbound import IncomingPart
from smsgate.store.schema import account_policies, accounts, incoming_parts

_p = incoming_parts


@dataclass(frozen=True, slots=True)
class Recipient:
    """The account an incoming message belongs to, with what its callback needs."""

    account_id: int
    callback_url: str | None
    tz_minutes: int
    parent_id: int | None
    flags: frozenset[str]


async def recipient(conn: AsyncConnection, account_id: int) -> Recipient | None:
    row = (
        await conn.execute(
            select(
                accounts.c.id,
                accounts.c.callback_url,
                accounts.c.tz_minutes,
                accounts.c.parent_id,
                account_policies.c.flags,
            )
            .select_from(
                accounts.outerjoin(account_policies, account_policies.c.account_id == accounts.c.id)
            )
            .where(accounts.c.id == account_id)
        )
    ).first()
    if row is None:
        return None
    flags = json.loads(row.flags or "[]")
    return Recipient(
        account_id=int(row.id),
        callback_url=row.callback_url,
        tz_minutes=int(row.tz_minutes),
        parent_id=row.parent_id,
        flags=frozenset(str(f) for f in flags) if isinstance(flags, list) else frozenset(),
    )


async def add_part(
    conn: AsyncConnection, connector: str, part: IncomingPart, now: float
) -> str | None:
    """Store one part (a repeated part number keeps the first); the whole text once every part
    is in (the parts are then deleted), else None."""
    key = (
        _p.c.connector == connector,
        _p.c.phone == part.phone,
        _p.c.to_phone == part.to_phone,
        _p.c.reference == part.reference,
        _p.c.total == part.total,
    )
    rows = (await conn.execute(select(_p.c.seq, _p.c.text).where(*key))).all()
    texts = {int(row.seq): str(row.text) for row in rows}
    if part.seq not in texts:
        await conn.execute(
            insert(_p).values(
                connector=connector,
                phone=part.phone,
                to_phone=part.to_phone,
                reference=part.reference,
                total=part.total,
                seq=part.seq,
                text=part.text,
                received_at=now,
            )
        )
        texts[part.seq] = part.text
    if len(texts) < part.total:
        return None
    await conn.execute(delete(_p).where(*key))
    return "".join(texts[n] for n in sorted(texts))


async def expire(conn: AsyncConnection, cutoff: float) -> int:
    """Forget parts of messages that stopped arriving before ``cutoff``; how many."""
    result = await conn.execute(delete(_p).where(_p.c.received_at < cutoff))
    return int(result.rowcount or 0)
