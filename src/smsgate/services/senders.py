"""Sender names: which an account may send from (http-api.md §2.1 ``sender``, §8).

Alphanumeric names (≤ 11 characters) wait for the platform operator's approval; digital names
(≤ 15 digits) and e-mail senders wait for a confirmation code (codes.md §5.3). Only active names may
be used. The active names of an account are cached for ``cache_s``; changes made here clear it.
A sub-client with ``fl[29]`` may also send from its main account's active names (http-api.md §2.1).
Every lookup by id or name names the account too: another account's sender is "not found".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import IntEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.codes import MessageType, RequestErrorCode
from smsgate.domain.subclients import FLAG_MAIN_SENDERS
from smsgate.errors import RequestError, SmsgateError
from smsgate.services.policies import PolicyService
from smsgate.store.db import Database
from smsgate.store.repos import senders as repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.senders import SenderRecord
from smsgate.store.writer import GroupCommitWriter

CACHE_S = 5.0
_ALPHA = re.compile(r"^[A-Za-z0-9 .&'_-]{1,11}$")
_DIGITAL = re.compile(r"^\+?[0-9]{1,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SenderKind(IntEnum):
    ALPHANUMERIC = 0
    DIGITAL = 1
    EMAIL = 2


class SenderStatus(IntEnum):
    PENDING = 0
    ACTIVE = 1
    REJECTED = 2
    AWAITING_CODE = 3


class SenderError(SmsgateError):
    """An administrative request about a sender name that cannot be carried out."""


def sender_kind(name: str) -> SenderKind:
    """The kind of a sender name; SenderError when it is none of them."""
    if _EMAIL.match(name):
        return SenderKind.EMAIL
    if _DIGITAL.match(name):
        return SenderKind.DIGITAL
    if _ALPHA.match(name) and not name.isspace():
        return SenderKind.ALPHANUMERIC
    raise SenderError(f"not a sender name: {name!r} (≤ 11 letters/digits, ≤ 15 digits, or e-mail)")


class SenderService:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        clock: Clock,
        *,
        cache_s: float = CACHE_S,
        policies: PolicyService | None = None,
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._cache_s = cache_s
        self._policies = policies
        self._active: dict[int, tuple[frozenset[str], float]] = {}

    async def resolve(
        self, account: AccountRecord, requested: str | None, msg_type: MessageType | None
    ) -> str | None:
        """The sender to send from: absent → the account default; ``""`` or ``.`` → none (route
        default); otherwise an active sender of the account, else request error 6. A mail
        (``mail=1``) names an e-mail sender (codes.md §5.3 type 2); another kind is error 6 too
        (the e-mail channel sends a mail without one from its configured default address)."""
        if requested is None:
            return account.default_sender
        name = requested.strip()
        if name in ("", "."):
            return None
        if msg_type == MessageType.MAIL and not _EMAIL.match(name):
            raise RequestError(RequestErrorCode.FORBIDDEN, f"sender {name!r} is no e-mail sender")
        if await self.may_send_from(account, name):
            return name
        raise RequestError(RequestErrorCode.FORBIDDEN, f"sender {name!r} is not approved")

    async def may_send_from(self, account: AccountRecord, name: str) -> bool:
        """Whether ``name`` is an active sender of the account, or of its main account when the
        account has ``fl[29]``."""
        if name in await self._active_names(account.id):
            return True
        if account.parent_id is None or self._policies is None:
            return False
        policy = await self._policies.get(account.id)
        return FLAG_MAIN_SENDERS in policy.flags and name in await self._active_names(
            account.parent_id
        )

    async def add(
        self, account: AccountRecord, name: str, *, approve: bool = False, comment: str = ""
    ) -> int:
        kind = sender_kind(name)
        if approve:
            status = SenderStatus.ACTIVE
        elif kind is SenderKind.ALPHANUMERIC:
            status = SenderStatus.PENDING
        else:
            status = SenderStatus.AWAITING_CODE
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> int:
            return await repo.add(conn, account.id, name, int(kind), int(status), now, comment)

        try:
            sender_id = await self._writer.submit(op)
        except IntegrityError:
            raise SenderError(f"sender {name!r} already exists") from None
        self._active.pop(account.id, None)
        return sender_id

    async def set_status(self, account: AccountRecord, name: str, status: SenderStatus) -> None:
        async with self._db.read() as conn:
            record = await repo.find(conn, account.id, name)
        if record is None:
            raise SenderError(f"no sender {name!r} for {account.login!r}")

        async def op(conn: AsyncConnection) -> None:
            await repo.set_status(conn, record.id, int(status))

        await self._writer.submit(op)
        self._active.pop(account.id, None)

    async def find(
        self, account: AccountRecord, *, name: str | None = None, sender_id: int | None = None
    ) -> SenderRecord:
        """A sender of the account by name or id; SenderError when it has none such."""
        async with self._db.read() as conn:
            if sender_id is not None:
                record = await repo.get(conn, account.id, sender_id)
            else:
                record = await repo.find(conn, account.id, (name or "").strip())
        if record is None:
            raise SenderError(f"no such sender for {account.login!r}")
        return record

    async def change_comment(self, record: SenderRecord, comment: str) -> None:
        async def op(conn: AsyncConnection) -> None:
            await repo.set_comment(conn, record.id, comment)

        await self._writer.submit(op)

    async def delete(self, account: AccountRecord, record: SenderRecord) -> None:
        """Delete a sender of ``account``; a default sender of that name is cleared with it."""
        assert record.account_id == account.id

        async def op(conn: AsyncConnection) -> None:
            await repo.delete_sender(conn, record.id)

        await self._writer.submit(op)
        self.forget(account.id)

    def forget(self, account_id: int) -> None:
        self._active.pop(account_id, None)

    async def list(self, account: AccountRecord) -> Sequence[SenderRecord]:
        async with self._db.read() as conn:
            return await repo.list_for(conn, account.id)

    async def _active_names(self, account_id: int) -> frozenset[str]:
        cached = self._active.get(account_id)
        now = self._clock.monotonic()
        if cached is not None and now - cached[1] < self._cache_s:
            return cached[0]
        async with self._db.read() as conn:
            records = await repo.list_for(conn, account_id)
        names = frozenset(r.name for r in records if r.status == SenderStatus.ACTIVE)
        self._active[account_id] = (names, now)
        return names
