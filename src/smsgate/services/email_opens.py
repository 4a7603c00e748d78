"""Open tracking of HTML mails (issue 9, protocols.md §1.1: an opened HTML mail → status 2).

The e-mail channel puts a pixel ``<track_url>/t/<token>.gif`` into every HTML mail; the token is the
message id with an HMAC of it under ``email.track_secret`` (domain/email_delivery.py), so a request
for the pixel can only name a message whose mail carried it: no account can mark another's message
read by guessing. A valid token moves a delivered e-mail (1) to read (2) with its event row; anything
else changes nothing. Without a secret, tracking is off and no token is valid.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.email_delivery import opened_message
from smsgate.store.repos import email_opens as repo
from smsgate.store.writer import GroupCommitWriter


class EmailOpenService:
    def __init__(self, writer: GroupCommitWriter, clock: Clock, *, secret: str) -> None:
        self._writer = writer
        self._clock = clock
        self._secret = secret.encode("utf-8")

    async def opened(self, token: str) -> bool:
        """Record the opening the pixel ``token`` reports; whether a message changed."""
        if not self._secret:
            return False
        message_id = opened_message(self._secret, token)
        if message_id is None:
            return False
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> bool:
            return await repo.mark_read(conn, message_id, now)

        return await self._writer.submit(op)
