"""Call confirmation (issue 7: wait_call.php, http-api.md §12, §14).

:meth:`WaitCallService.wait` tells a client which of the platform's numbers (``wait_call.numbers``)
its subscriber must call. Among the waits still open, a (subscriber, number) pair is never given to
two waits, whichever accounts asked, so a call names at most one wait: each new wait takes a number
of the pool that the subscriber has no open wait on, at random among them. The same account asking
again for a subscriber it already waits for gets that wait back (same id and number) with its
``wait_call.ttl`` started afresh, so retries do not use up the pool. When every number is taken for
that subscriber by other waits the request is refused (error 9) until one ends. The choice is
serialised per subscriber (one SQLite writer; an advisory lock on PostgreSQL).

:meth:`WaitCallService.incoming` takes a call reported by the voice provider: a call from the
subscriber to the number of an open wait, within its ttl, confirms it and queues a call-confirmation
callback (``event=call``, id, phone, to, time, ts) in the same transaction; calls that match no open
wait (expired, already confirmed, another number) change nothing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.config import CallbacksSettings, WaitCallSettings
from smsgate.domain.callbacks import CallbackKind, call_fields
from smsgate.domain.phones import PhoneFormatError, normalise
from smsgate.store.repos import call_waits as repo
from smsgate.store.repos import callbacks as callback_repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.writer import GroupCommitWriter

# A wait counts a call reported up to this long before the wait's creation (clock skew).
CREATION_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class WaitAnswer:
    wait_id: int
    number: str


class WaitCallService:
    def __init__(
        self,
        writer: GroupCommitWriter,
        clock: Clock,
        settings: WaitCallSettings,
        callbacks: CallbacksSettings,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self.settings = settings
        self.numbers = tuple(n for n in settings.numbers.split(",") if n)
        self._max_age_s = float(callbacks.max_age)

    def now(self) -> float:
        return self._clock.now()

    async def wait(self, account: AccountRecord, phone: str) -> WaitAnswer | None:
        """The number ``phone`` must call and the wait's id; None when every number of the pool is
        taken for this subscriber by other accounts' waits. ``phone`` is already normalised."""
        now = self._clock.now()
        expires_at = now + float(self.settings.ttl)

        async def op(conn: AsyncConnection) -> WaitAnswer | None:
            await repo.lock_subscriber(conn, phone)
            waits = await repo.open_waits(conn, phone, now)
            for wait in waits:
                if wait.account_id == account.id and wait.number in self.numbers:
                    await repo.extend(conn, wait.id, expires_at)
                    return WaitAnswer(wait.id, wait.number)
            taken = {wait.number for wait in waits}
            free = [number for number in self.numbers if number not in taken]
            if not free:
                return None
            number = free[secrets.randbelow(len(free))]
            return WaitAnswer(
                await repo.add(conn, account.id, phone, number, now, expires_at), number
            )

        return await self._writer.submit(op)

    async def incoming(self, caller: str, called: str, at: float | None) -> int | None:
        """Record a call from ``caller`` to ``called`` at ``at`` (None: now); the id of the wait it
        confirmed, or None."""
        phone = _number(caller)
        number = _number(called)
        if phone is None or number is None:
            return None
        if number not in self.numbers:
            number = next((n for n in self.numbers if _number(n) == number), number)
        now = self._clock.now()
        moment = now if at is None else at

        async def op(conn: AsyncConnection) -> int | None:
            confirmed = await repo.confirm(conn, phone, number, moment, CREATION_GRACE_S)
            if confirmed is None:
                return None
            wait = confirmed.wait
            if confirmed.callback_url:
                fields = call_fields(wait.id, wait.phone, wait.number, moment, confirmed.tz_minutes)
                await callback_repo.enqueue(
                    conn, wait.account_id, CallbackKind.CALL, fields, now, self._max_age_s
                )
            return wait.id

        return await self._writer.submit(op)


def _number(raw: str) -> str | None:
    """A caller or called number as waits store it (normalised as send.php does), else None."""
    try:
        return normalise(raw)
    except PhoneFormatError:
        digits = re.sub(r"\D", "", raw)
        return digits or None
