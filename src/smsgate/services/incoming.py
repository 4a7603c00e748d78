"""Messages received for an account: stored by the channels that receive them (SMPP
``deliver_sm`` from an operator, the simulator, SMS commands), read by get.php ``get_answers``
(http-api.md §10).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.store.db import Database
from smsgate.store.repos import incoming as repo
from smsgate.store.repos.incoming import IncomingRecord, NewIncoming
from smsgate.store.writer import GroupCommitWriter


class IncomingService:
    def __init__(self, db: Database, writer: GroupCommitWriter, clock: Clock) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock

    async def record(
        self,
        account_id: int,
        phone: str,
        to_phone: str,
        text: str,
        *,
        message_id: int | None = None,
        received_at: float | None = None,
    ) -> int:
        """Store a message from ``phone`` to our ``to_phone`` for the account; its id, after the
        commit. ``message_id`` is the account's message it answers, when the channel knows it."""
        row = NewIncoming(
            account_id=account_id,
            phone=phone,
            to_phone=to_phone,
            text=text,
            received_at=self._clock.now() if received_at is None else received_at,
            message_id=message_id,
        )

        async def op(conn: AsyncConnection) -> int:
            return await repo.insert_one(conn, row)

        return await self._writer.submit(op)

    async def answers(
        self,
        account_id: int,
        *,
        after_id: int | None = None,
        hours: int | None = None,
        to_phone: str | None = None,
        limit: int = 1000,
    ) -> list[IncomingRecord]:
        """The account's received messages in ascending id: after ``after_id`` and/or received
        within the last ``hours``, to ``to_phone`` when given."""
        since = None if hours is None else self._clock.now() - hours * 3600
        async with self._db.read() as conn:
            return await repo.answers(
                conn, account_id, after_id=after_id, since=since, to_phone=to_phone, limit=limit
            )
