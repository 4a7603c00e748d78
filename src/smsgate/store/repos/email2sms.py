"""Per-account e-mail2sms settings (protocols.md §2.4)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.email_grammar import Email2SmsSettings
from smsgate.store.schema import email2sms_settings

_FIELDS = tuple(f.name for f in dataclasses.fields(Email2SmsSettings))


async def all_settings(conn: AsyncConnection) -> Mapping[int, Email2SmsSettings]:
    """Every account's stored settings, by account id (accounts without a row use the defaults)."""
    rows = (await conn.execute(select(email2sms_settings))).mappings()
    return {
        int(row["account_id"]): Email2SmsSettings(**{name: row[name] for name in _FIELDS})
        for row in rows
    }


async def put_settings(
    conn: AsyncConnection, account_id: int, settings: Email2SmsSettings, now: float
) -> None:
    """Store ``settings`` for the account, replacing what it had (portable upsert)."""
    table = email2sms_settings
    await conn.execute(delete(table).where(table.c.account_id == account_id))
    await conn.execute(
        insert(table).values(account_id=account_id, updated_at=now, **dataclasses.asdict(settings))
    )
