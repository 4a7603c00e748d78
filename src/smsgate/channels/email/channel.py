"""The e-mail channel: type-8 messages through an SMTP relay (issue 9, protocols.md §1.1 ``mail=1``).

A hand-over sends each message as one mail (compose.py) over the relay pool's connections, side by
side on up to ``pool_size`` of them. What the relay answers becomes the message's outcome:

- 250 after DATA: Accepted, the provider id being the mail's Message-ID (without its domain). The
  relay's acceptance is the final result of an e-mail (codes.md §2: "e-mail accepted" is status 1),
  so a DELIVRD receipt for it is due at once.
- 4xx, or the connection failing mid-transaction: TransientFailure (retried with backoff).
- 5xx: PermanentFailure 20 with the err of replies.py.
- The relay unreachable: TransientFailure for the rest of the hand-over, and the channel is
  unavailable until the relay pool's next reconnection try (relay.py), so messages stay queued.
- An address only SMTPUTF8 can carry, on a relay without it: RouteFailure (another route may).

Test-mode messages (protocols.md §1.5) never reach the relay: DELIVRD with err 200 at once.
The channel never raises from ``submit``: an unexpected error becomes a TransientFailure, because a
hand-over that raises leaves its messages in doubt.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence

import aiosmtplib

from smsgate.channels.base import (
    Accepted,
    DeliveryState,
    OutgoingMessage,
    PermanentFailure,
    Receipt,
    RouteFailure,
    SubmitOutcome,
    TransientFailure,
)
from smsgate.channels.email.compose import (
    AddressError,
    Envelope,
    MailParts,
    compose,
    subject_of,
)
from smsgate.channels.email.relay import ConnectionBroken, RelayPool, RelayUnavailable
from smsgate.channels.email.replies import Stage, refusal
from smsgate.clock import Clock
from smsgate.config import EmailSettings
from smsgate.domain.codes import ErrCode, MessageStatus, MessageType
from smsgate.domain.email_delivery import (
    MailAttachment,
    attachment_ids,
    is_html,
    mail_options,
    open_token,
)

log = logging.getLogger(__name__)

NAME = "email"
# Reading a request's attachments from the store: ids → files (services.attachments).
AttachmentSource = Callable[[Sequence[int]], Awaitable[Sequence[MailAttachment]]]


class EmailChannel:
    """The channel (module docstring); an async context manager that closes its connections."""

    def __init__(
        self,
        settings: EmailSettings,
        clock: Clock,
        *,
        attachments: AttachmentSource | None = None,
        name: str = NAME,
    ) -> None:
        self.name = name
        self.settings = settings
        self._clock = clock
        self._attachments = attachments
        self._pool = RelayPool(settings, clock)
        self._receipts: list[Receipt] = []
        self._domain = settings.default_from.rpartition("@")[2] or "smsgate"
        self._track_secret = settings.track_secret.encode("utf-8")

    async def __aenter__(self) -> EmailChannel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool(self) -> RelayPool:
        return self._pool

    @property
    def available(self) -> bool:
        return self._pool.available

    def due_receipts(self, now: float) -> list[Receipt]:
        receipts, self._receipts = self._receipts, []
        return receipts

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        results: list[SubmitOutcome | None] = [None] * len(batch)
        queue: collections.deque[int] = collections.deque()
        for index, message in enumerate(batch):
            if message.test:
                results[index] = self._virtual(message)
            elif message.msg_type != MessageType.MAIL:
                results[index] = RouteFailure("the e-mail channel carries e-mail only")
            else:
                queue.append(index)
        loaded: dict[tuple[int, ...], Sequence[MailAttachment]] = {}
        workers = min(self.settings.pool_size, len(queue))
        if workers:
            await asyncio.gather(
                *(self._work(batch, queue, results, loaded) for _ in range(workers))
            )
        return [r if r is not None else TransientFailure("not sent") for r in results]

    def _virtual(self, message: OutgoingMessage) -> Accepted:
        provider_id = self._provider_id(message)
        self._receipts.append(Receipt(provider_id, DeliveryState.DELIVERED, ErrCode.VIRTUAL))
        return Accepted(provider_id)

    async def _work(
        self,
        batch: Sequence[OutgoingMessage],
        queue: collections.deque[int],
        results: list[SubmitOutcome | None],
        loaded: dict[tuple[int, ...], Sequence[MailAttachment]],
    ) -> None:
        """Send queued messages over one borrowed connection until the queue is empty; a broken
        connection is replaced, an unreachable relay ends the hand-over (the rest stay None →
        transient)."""
        while queue:
            try:
                async with self._pool.connection() as smtp:
                    while queue:
                        index = queue.popleft()
                        try:
                            results[index] = await self._deliver_safely(smtp, batch[index], loaded)
                        except ConnectionBroken as exc:
                            results[index] = TransientFailure(str(exc))
                            raise
            except RelayUnavailable as exc:
                log.warning("e-mail hand-over stopped: %s", exc)
                queue.clear()
            except ConnectionBroken:
                continue

    async def _deliver_safely(
        self,
        smtp: aiosmtplib.SMTP,
        message: OutgoingMessage,
        loaded: dict[tuple[int, ...], Sequence[MailAttachment]],
    ) -> SubmitOutcome:
        """``_deliver``, but any failure that leaves the connection in an unknown state is a
        transient result for the message and ConnectionBroken for the connection."""
        try:
            return await self._deliver(smtp, message, loaded)
        except ConnectionBroken:
            raise
        except Exception as exc:  # the top of one message's hand-over: never lose it by raising
            log.exception("message %d: e-mail hand-over failed", message.id)
            raise ConnectionBroken(f"unexpected error: {exc}") from exc

    async def _deliver(
        self,
        smtp: aiosmtplib.SMTP,
        message: OutgoingMessage,
        loaded: dict[tuple[int, ...], Sequence[MailAttachment]],
    ) -> SubmitOutcome:
        options = mail_options(message.options)
        provider_id = self._provider_id(message)
        try:
            files = await self._files(attachment_ids(options), loaded)
            envelope = compose(
                MailParts(
                    message_id=f"{provider_id}@{self._domain}",
                    to=message.phone,
                    sender=message.sender,
                    default_from=self.settings.default_from,
                    subject=subject_of(options),
                    text=message.text,
                    date=self._clock.now(),
                    attachments=files,
                    pixel_url=self._pixel_url(message),
                )
            )
        except AddressError as exc:
            log.warning("message %d: %s", message.id, exc)
            return PermanentFailure(MessageStatus.CANNOT_DELIVER, ErrCode.NO_SUBSCRIBER)
        except LookupError as exc:  # an attachment row is gone: the mail cannot be made
            log.error("message %d: %s", message.id, exc)
            return PermanentFailure(MessageStatus.CANNOT_DELIVER, ErrCode.REJECTED_BY_OPERATOR)
        outcome = await self._transact(smtp, message, envelope)
        if isinstance(outcome, Accepted):
            self._receipts.append(Receipt(provider_id, DeliveryState.DELIVERED))
            return Accepted(provider_id)
        return outcome

    async def _transact(
        self,
        smtp: aiosmtplib.SMTP,
        message: OutgoingMessage,
        envelope: Envelope,
    ) -> SubmitOutcome:
        """One SMTP transaction; ConnectionBroken when the connection is unusable afterwards."""
        try:
            await smtp.sendmail(
                envelope.sender,
                [envelope.recipient],
                envelope.content,
                mail_options=["SMTPUTF8"] if envelope.smtputf8 else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return refusal(refused.code, refused.message, Stage.RECIPIENT)
        except aiosmtplib.SMTPSenderRefused as exc:
            return refusal(exc.code, exc.message, Stage.SENDER)
        except aiosmtplib.SMTPNotSupported as exc:
            return RouteFailure(f"relay cannot carry this address: {exc}")
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:  # the relay is closing the connection (RFC 5321 §3.8)
                raise _broken(message, exc) from exc
            return refusal(exc.code, exc.message, Stage.DATA)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _broken(message, exc) from exc
        return Accepted("")

    async def _files(
        self, ids: list[int], loaded: dict[tuple[int, ...], Sequence[MailAttachment]]
    ) -> Sequence[MailAttachment]:
        """The message's attachments, read once per hand-over for all messages of one request."""
        if not ids:
            return ()
        key = tuple(ids)
        if key not in loaded:
            if self._attachments is None:
                raise LookupError("attachments are stored but no attachment source is wired")
            files = await self._attachments(ids)
            if len(files) != len(ids):
                raise LookupError(f"attachments {ids} not all found")
            loaded[key] = files
        return loaded[key]

    def _pixel_url(self, message: OutgoingMessage) -> str | None:
        if not (self.settings.track_url and is_html(message.text)):
            return None
        token = open_token(self._track_secret, message.id)
        return f"{self.settings.track_url.rstrip('/')}/t/{token}.gif"

    def _provider_id(self, message: OutgoingMessage) -> str:
        """Unique per hand-over (a retried message gets a new one, as it is a new mail)."""
        return f"mail-{message.id}-{secrets.token_hex(6)}"


def _broken(message: OutgoingMessage, exc: BaseException) -> ConnectionBroken:
    log.warning("message %d: relay connection lost: %s", message.id, exc)
    return ConnectionBroken(f"connection lost: {exc}")
