"""Confirmation of digital and e-mail sender names by code (senders.php ``send_code`` and
``check_code``, http-api.md §8).

``send_code`` sends a random six-digit code to the number (SMS) or address (e-mail) through the
ordinary sending service, as a message of the account itself (priced and debited like any other).
Only a hash of the code is stored, valid for ``CODE_TTL_S`` and for ``MAX_ATTEMPTS`` guesses; a
right code makes the sender active. A wrong, expired or used-up code is error 5.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.account_codes import AccountRefusal
from smsgate.domain.codes import MessageType
from smsgate.domain.sending import SendRequest
from smsgate.services.refusals import refuse
from smsgate.services.senders import SenderKind, SenderService, SenderStatus
from smsgate.services.sending import SendingService, SendOptions
from smsgate.store.repos import senders as repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.senders import SenderRecord
from smsgate.store.writer import GroupCommitWriter

CODE_TTL_S = 3600.0
MAX_ATTEMPTS = 5
CODE_TEXT = "Sender name confirmation code: {code}"
CODE_SUBJECT = "Sender name confirmation"


def code_hash(sender_id: int, code: str) -> str:
    return hashlib.sha256(f"{sender_id}:{code}".encode()).hexdigest()


class SenderConfirmation:
    def __init__(
        self,
        writer: GroupCommitWriter,
        senders: SenderService,
        sending: SendingService,
        clock: Clock,
    ) -> None:
        self._writer = writer
        self._senders = senders
        self._sending = sending
        self._clock = clock

    async def send_code(self, account: AccountRecord, record: SenderRecord) -> None:
        """Send a new code for a sender awaiting confirmation (a new code replaces the old one)."""
        if record.status != SenderStatus.AWAITING_CODE:
            raise refuse(AccountRefusal.SENDER_ERROR, "sender is not awaiting a code")
        code = f"{secrets.randbelow(1_000_000):06d}"
        expires_at = self._clock.now() + CODE_TTL_S

        async def op(conn: AsyncConnection) -> None:
            await repo.put_code(conn, record.id, code_hash(record.id, code), expires_at)

        await self._writer.submit(op)
        mail = record.kind == SenderKind.EMAIL
        request = SendRequest(
            phones=record.name,
            mes=CODE_TEXT.format(code=code),
            sender="" if not mail else None,
            msg_type=MessageType.MAIL if mail else None,
            subj=CODE_SUBJECT if mail else "",
        )
        await self._sending.send(account, request, SendOptions())

    async def check_code(self, account: AccountRecord, record: SenderRecord, code: str) -> None:
        """Make the sender active when ``code`` is its live code; error 5 otherwise."""
        now = self._clock.now()
        wanted = code_hash(record.id, code.strip())

        async def op(conn: AsyncConnection) -> bool:
            stored = await repo.take_attempt(conn, record.id, now, MAX_ATTEMPTS)
            if stored is None or not hmac.compare_digest(stored, wanted):
                return False
            await repo.confirm(conn, record.id, int(SenderStatus.ACTIVE))
            return True

        if not await self._writer.submit(op):
            raise refuse(AccountRefusal.INVALID_CODE)
        self._senders.forget(account.id)
