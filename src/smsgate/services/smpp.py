"""The SMPP server's use of the store: segments, query_sm, cancel_sm and receipt cursors
(protocols.md §3.6–3.9). Sending itself goes through :class:`SendingService` like every ingress."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.codes import MessageStatus
from smsgate.store.db import Database
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos import smpp as repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.messages import PLACEHOLDER_DUE_AT, NewMessage
from smsgate.store.repos.smpp import MessageState, ReceiptEvent, StoredSegment
from smsgate.store.writer import GroupCommitWriter


class SmppService:
    def __init__(self, db: Database, writer: GroupCommitWriter, clock: Clock) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock

    async def open_cursor(self, account_id: int) -> None:
        async def op(conn: AsyncConnection) -> None:
            await repo.open_cursor(conn, account_id)

        await self._writer.submit(op)

    async def store_segment(
        self,
        account: AccountRecord,
        reference: str,
        *,
        seq: int,
        total: int,
        text: str,
        destination: str,
        sender: str | None,
        receipt: int,
    ) -> StoredSegment:
        """Store one segment durably; its message id (a placeholder allocated with the first
        segment, found by status.php under that id) and, with the last one, the whole text."""
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> StoredSegment:
            found = await repo.store_segment(
                conn, account.id, reference, seq, total, text, now, None
            )
            if found is not None:
                return found
            placeholder = await message_repo.insert_placeholder(
                conn, _placeholder(account.id, destination, sender, total, receipt, now)
            )
            await message_repo.use_message_id_as_request_id(conn, [placeholder])
            stored = await repo.store_segment(
                conn, account.id, reference, seq, total, text, now, placeholder
            )
            assert stored is not None
            return stored

        return await self._writer.submit(op)

    async def forget_segments(self, account_id: int, reference: str) -> None:
        async def op(conn: AsyncConnection) -> None:
            await repo.forget_segments(conn, account_id, reference)

        await self._writer.submit(op)

    async def fail_placeholder(self, message_id: int, status: MessageStatus, err: int) -> None:
        """A reassembled message that could not be accepted (e.g. no money → 24)."""
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            await repo.fail_placeholder(conn, message_id, int(status), err, now)

        await self._writer.submit(op)

    async def expire_segments(self, timeout_s: float) -> list[int]:
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> list[int]:
            return await repo.expire_segments(conn, now - timeout_s, now)

        return await self._writer.submit(op)

    async def message_state(self, account_id: int, message_id: int) -> MessageState | None:
        async with self._db.read() as conn:
            return await repo.message_state(conn, account_id, message_id)

    async def cancel(
        self,
        account_id: int,
        *,
        message_id: int | None = None,
        addresses: tuple[str, str] | None = None,
    ) -> list[int]:
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> list[int]:
            return await repo.cancel_waiting(
                conn, account_id, now, message_id=message_id, addresses=addresses
            )

        return await self._writer.submit(op)

    async def lease_cursor(self, account_id: int, node: str, lease_s: float) -> int | None:
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> int | None:
            return await repo.lease_cursor(conn, account_id, node, now, now + lease_s)

        return await self._writer.submit(op)

    async def receipt_events(
        self, account_id: int, after: int, retention_s: float, limit: int
    ) -> tuple[list[ReceiptEvent], int]:
        since = self._clock.now() - retention_s
        async with self._db.read() as conn:
            return await repo.receipt_events(conn, account_id, after, since, limit)

    async def advance_cursor(self, account_id: int, node: str, last_event_id: int) -> None:
        async def op(conn: AsyncConnection) -> None:
            await repo.advance_cursor(conn, account_id, node, last_event_id)

        await self._writer.submit(op)

    async def release_cursor(self, account_id: int, node: str) -> None:
        async def op(conn: AsyncConnection) -> None:
            await repo.release_cursor(conn, account_id, node)

        await self._writer.submit(op)


def _placeholder(
    account_id: int,
    destination: str,
    sender: str | None,
    total: int,
    receipt: int,
    now: float,
) -> NewMessage:
    return NewMessage(
        account_id=account_id,
        client_id="",
        phone=destination.lstrip("+"),
        msg_type=0,
        sender=sender,
        text="",
        comment=None,
        status=int(MessageStatus.WAITING),
        err=0,
        parts=total,
        cost=Decimal(0),
        encoding=0,
        country=None,
        operator=None,
        operator_orig=None,
        region=None,
        mccmnc=None,
        test=False,
        options=None,
        created_at=now,
        updated_at=now,
        due_at=PLACEHOLDER_DUE_AT,
        valid_until=PLACEHOLDER_DUE_AT,
        smpp_receipt=receipt,
    )
