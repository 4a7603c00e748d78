"""Message statuses: find an account's messages by request id and recipient, and delete them.

The use case behind status.php (http-api.md §3) and, later, SOAP ``get_status`` (protocols.md §4). A
message is keyed by the account, the request id the client knows (``messages.client_id``) and the
recipient; with several matches the most recent message wins. Deletion (``del=1``) stops a message
still waiting (status -1 → -2) and refunds its cost to the account in the same transaction as the
deletion, so a deleted message is never charged and never refunded twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.codes import MessageStatus
from smsgate.domain.phones import PhoneFormatError, normalise
from smsgate.store.db import Database
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import events as event_repo
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos.dispatch import StatusChange
from smsgate.store.repos.messages import MessageRecord
from smsgate.store.writer import GroupCommitWriter


@dataclass(frozen=True, slots=True)
class MessageKey:
    """One (id, recipient) pair of a status request.

    ``recipient`` is the form shown back to the client (a normalised number without ``+``, or a
    lower-cased e-mail address); ``candidates`` are the stored forms it may match, best first.
    """

    client_id: str
    recipient: str
    candidates: tuple[str, ...]


def message_key(client_id: str, recipient: str) -> MessageKey:
    """The lookup key of ``client_id`` and ``recipient`` as the client wrote them (http-api.md §3).

    Numeric ids lose leading zeros (send.php stores ``007`` as ``7``).
    Numbers are normalised as send.php normalises them (http-api.md §1.6); a number the
    auto-correction reads as Russian is also tried as international digits, because stored numbers
    are returned without ``+`` (``84912345678`` was sent as ``+84912345678``). E-mail addresses
    (mail messages) match lower-cased first, then with only the domain lower-cased, as stored.
    Anything else (a Telegram ``#chat id``, a malformed number) matches only as written.
    """
    text = recipient.strip()
    forms: tuple[str, ...]
    if "@" in text:
        local, _, domain = text.rpartition("@")
        forms = (text.lower(), f"{local}@{domain.lower()}", text)
    else:
        forms = _number_forms(text)
    candidates = tuple(dict.fromkeys(forms))
    return MessageKey(_request_id(client_id), candidates[0], candidates)


def _request_id(client_id: str) -> str:
    """Numeric ids are stored without leading zeros, as send.php stores them (``007`` → ``7``)."""
    text = client_id.strip()
    return str(int(text)) if text.isascii() and text.isdigit() else text


def _number_forms(text: str) -> tuple[str, ...]:
    try:
        primary = normalise(text)
    except PhoneFormatError:
        return (text,)
    if text.startswith("+"):
        return (primary,)
    try:
        return (primary, normalise("+" + text))
    except PhoneFormatError:
        return (primary,)


@dataclass(frozen=True, slots=True)
class Deletion:
    """A deleted message and the amount refunded for it (zero unless it was still waiting)."""

    message_id: int
    refunded: Decimal


def _pick(found: Mapping[tuple[str, str], MessageRecord], key: MessageKey) -> MessageRecord | None:
    for phone in key.candidates:
        record = found.get((key.client_id, phone))
        if record is not None:
            return record
    return None


def _pairs(keys: Sequence[MessageKey]) -> list[tuple[str, str]]:
    unique = {(key.client_id, phone): None for key in keys for phone in key.candidates}
    return list(unique)


class StatusService:
    """Reads message statuses and deletes messages on behalf of an account."""

    def __init__(self, db: Database, writer: GroupCommitWriter, clock: Clock) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock

    async def lookup(
        self, account_id: int, keys: Sequence[MessageKey]
    ) -> list[MessageRecord | None]:
        """The most recent undeleted message of the account for each key, in order; None when
        there is none (status -3 in http-api.md §3). One query for all keys."""
        async with self._db.read() as conn:
            found = await message_repo.find_latest(conn, account_id, _pairs(keys))
        return [_pick(found, key) for key in keys]

    async def delete(self, account_id: int, key: MessageKey) -> Deletion | None:
        """Delete the message ``key`` names (http-api.md §3 ``del=1``); None when there is none.

        Answers after the commit. A message still waiting is stopped (status -2) and its cost is
        added back to the account's balance in the same transaction; the deletion itself is the
        claim, so two concurrent deletions refund at most once.
        """
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> Deletion | None:
            found = await message_repo.find_latest(conn, account_id, _pairs([key]))
            record = _pick(found, key)
            if record is None or not await message_repo.mark_deleted(conn, record.id, now):
                return None
            refund = await message_repo.cancel_waiting(
                conn, record.id, int(MessageStatus.STOPPED), now
            )
            if refund is not None:  # stopped: an event for the callback (issue 8)
                stop = StatusChange(record.id, account_id, int(MessageStatus.STOPPED), record.err)
                await event_repo.record(conn, [stop], now)
            if refund is None or refund <= 0:
                return Deletion(record.id, Decimal(0))
            await account_repo.refund(conn, {account_id: refund}, now)
            return Deletion(record.id, refund)

        return await self._writer.submit(op)
