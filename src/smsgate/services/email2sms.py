"""Per-account e-mail2sms settings: read by the SMTP ingress on every mail, set by the CLI.

The (small) table is kept in memory and re-read at most every ``cache_s``; a change made on this
node shows at once, one made on another node within ``cache_s``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.email_grammar import Email2SmsSettings
from smsgate.services.caching import Refreshed
from smsgate.store.db import Database
from smsgate.store.repos import email2sms as repo
from smsgate.store.writer import GroupCommitWriter

CACHE_S = 5.0
DEFAULTS = Email2SmsSettings()


class Email2SmsService:
    def __init__(
        self, db: Database, writer: GroupCommitWriter, clock: Clock, *, cache_s: float = CACHE_S
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._table = Refreshed(self._read, clock, cache_s)

    async def settings(self, account_id: int) -> Email2SmsSettings:
        """The account's settings (the defaults when it has none stored)."""
        return (await self._table.get()).get(account_id, DEFAULTS)

    async def change(self, account_id: int, **changes: bool | int) -> Email2SmsSettings:
        """Apply ``changes`` (field names of :class:`Email2SmsSettings`) and store the result."""
        known = {f.name for f in dataclasses.fields(Email2SmsSettings)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown e-mail2sms setting(s): {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            if name == "max_length":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError("max_length must be 0 (no cut) or a positive integer")
            elif not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")

        async def op(conn: AsyncConnection) -> Email2SmsSettings:
            current = (await repo.all_settings(conn)).get(account_id, DEFAULTS)
            # Names and types were checked above; dataclasses.replace takes them as keywords.
            updated = dataclasses.replace(current, **cast(dict[str, Any], changes))
            await repo.put_settings(conn, account_id, updated, self._clock.now())
            return updated

        updated = await self._writer.submit(op)
        self._table.clear()
        return updated

    async def _read(self) -> Mapping[int, Email2SmsSettings]:
        async with self._db.read() as conn:
            return await repo.all_settings(conn)
