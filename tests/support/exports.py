"""Messages stored directly, for the export tests (issue 6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageType
from smsgate.services.container import Services
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos.messages import NewMessage

START = 1_764_000_000.0  # ManualClock's start: 24.11.2025 16:00:00 UTC, 19:00:00 in Moscow
INSERT_CHUNK = 500

TEMPLATE = NewMessage(
    account_id=0,
    client_id="1",
    phone="79161234567",
    msg_type=int(MessageType.SMS),
    sender="Shop",
    text="Hello",
    comment=None,
    status=1,
    err=0,
    parts=1,
    cost=Decimal("2.5"),
    encoding=0,
    country="RU",
    operator="MTS",
    operator_orig="MTS",
    region="Moscow",
    mccmnc="25001",
    test=False,
    options=None,
    created_at=START - 3600,
    updated_at=START - 3000,
    due_at=START - 3600,
    valid_until=START + 86400,
)


async def store(services: Services, rows: Sequence[NewMessage]) -> list[int]:
    """Insert ``rows`` as they are; their ids."""
    ids: list[int] = []
    for offset in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[offset : offset + INSERT_CHUNK]

        async def op(conn: AsyncConnection, chunk: Sequence[NewMessage] = chunk) -> list[int]:
            return await message_repo.insert_many(conn, chunk)

        ids += await services.writer.submit(op)
    return ids


async def store_many(
    services: Services, account_id: int, count: int, *, created_at: float = START - 3600
) -> list[int]:
    """``count`` plain messages of one account, one per second from ``created_at``."""
    rows = [
        replace(
            TEMPLATE,
            account_id=account_id,
            client_id=str(n + 1),
            phone=f"7916{n % 10_000_000:07d}",
            text=f"message {n}",
            created_at=created_at + n,
        )
        for n in range(count)
    ]
    return await store(services, rows)
