"""Messages received for an account: stored by the channels that receive them (SMPP
``deliver_sm`` from an operator, the simulator, SMS commands), read by get.php ``get_answers``
(http-api.md §10), sent on as callbacks (§14) and as deliver_sm to the account's SMPP receivers
(protocols.md §3.8).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.config import CallbacksSettings
from smsgate.domain.callbacks import CallbackKind, incoming_fields
from smsgate.domain.inbound import IncomingPart, address_digits
from smsgate.store.db import Database
from smsgate.store.repos import callbacks as callback_repo
from smsgate.store.repos import inbound_numbers as number_repo
from smsgate.store.repos import incoming as repo
from smsgate.store.repos import incoming_parts as parts_repo
from smsgate.store.repos import smpp_mo as mo_repo
from smsgate.store.repos.incoming import IncomingRecord, NewIncoming
from smsgate.store.repos.incoming_parts import Recipient
from smsgate.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

# Parts of a concatenated incoming SMS wait this long for the rest (as SMPP submits do, §3.6).
PARTS_TIMEOUT_S = 300.0


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


FLAG_INCOMING_CALLBACKS = "fl[11]"  # users.php: incoming-SMS callbacks to ``url``


class Arrival(enum.Enum):
    """What became of an incoming SMS (or part) delivered by an operator."""

    STORED = "stored"  # a whole message, in the incoming table
    PART_STORED = "part stored"  # waiting for the other parts
    NO_RECIPIENT = "no recipient"  # nobody rents the number: logged and dropped


@dataclass(frozen=True, slots=True)
class Received:
    arrival: Arrival
    incoming_id: int | None = None
    account_id: int | None = None


class IncomingReceiver:
    """Incoming SMS from upstream connectors: each part or message is stored, with the callback
    of a whole message, in one transaction, and only then answered (protocols.md §3.8; style.md:
    nothing acknowledged before its commit).

    The message belongs to the account renting the destination number (http-api.md §12). Its
    callback is queued when the account has a callback URL and, for a sub-client, ``fl[11]``
    (a main account's URL is its switch until the cabinet has one, as for status callbacks).
    """

    def __init__(
        self,
        writer: GroupCommitWriter,
        clock: Clock,
        settings: CallbacksSettings,
        *,
        parts_timeout_s: float = PARTS_TIMEOUT_S,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._settings = settings
        self._parts_timeout_s = parts_timeout_s

    async def receive(self, connector: str, part: IncomingPart) -> Received:
        """Store ``part`` from ``connector``; returns after the commit."""
        now = self._clock.now()
        part = replace(
            part, phone=address_digits(part.phone), to_phone=address_digits(part.to_phone)
        )
        max_age_s = float(self._settings.max_age)

        async def op(conn: AsyncConnection) -> Received:
            owner = await number_repo.renter_of(conn, part.to_phone)
            found = await parts_repo.recipient(conn, owner) if owner is not None else None
            if found is None:
                return Received(Arrival.NO_RECIPIENT)
            text = part.text
            if part.total > 1:
                whole = await parts_repo.add_part(conn, connector, part, now)
                if whole is None:
                    return Received(Arrival.PART_STORED, account_id=found.account_id)
                text = whole
            row = NewIncoming(found.account_id, part.phone, part.to_phone, text, now)
            incoming_id = await repo.insert_one(conn, row)
            if _wants_callback(found):
                fields = incoming_fields(
                    incoming_id, part.phone, text, part.to_phone, now, found.tz_minutes
                )
                await callback_repo.enqueue(
                    conn, found.account_id, CallbackKind.INCOMING, fields, now, max_age_s
                )
            return Received(Arrival.STORED, incoming_id, found.account_id)

        received = await self._writer.submit(op)
        if received.arrival is Arrival.NO_RECIPIENT:
            log.warning(
                "incoming SMS to %s from %s via %s dropped: no account rents that number",
                part.to_phone,
                part.phone,
                connector,
            )
        return received

    async def expire_parts(self) -> int:
        """Forget parts whose message did not complete within the timeout; how many."""
        cutoff = self._clock.now() - self._parts_timeout_s

        async def op(conn: AsyncConnection) -> int:
            return await parts_repo.expire(conn, cutoff)

        return await self._writer.submit(op)


def _wants_callback(found: Recipient) -> bool:
    if not found.callback_url:
        return False
    return found.parent_id is None or FLAG_INCOMING_CALLBACKS in found.flags


class IncomingOverSmpp:
    """The store side of sending incoming messages to an account's SMPP receivers (§3.8)."""

    def __init__(self, db: Database, writer: GroupCommitWriter, clock: Clock) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock

    async def pending(
        self, account_id: int, retention_s: float, limit: int
    ) -> tuple[int, list[IncomingRecord]]:
        """The account's cursor and the messages after it, received within ``retention_s``."""
        since = self._clock.now() - retention_s
        async with self._db.read() as conn:
            last = await mo_repo.cursor(conn, account_id)
            return last, await mo_repo.after(conn, account_id, last, since, limit)

    async def advance(self, account_id: int, node: str, last_id: int) -> bool:
        async def op(conn: AsyncConnection) -> bool:
            return await mo_repo.advance(conn, account_id, node, last_id)

        return await self._writer.submit(op)
