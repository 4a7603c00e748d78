"""ping.php event notifications: monitoring task groups (http-api.md §12).

A task group belongs to one account and holds a failure and a recovery template with ``{NAME}``,
``{HOST}`` and ``{INFO}``, a message type and the contacts to notify. A ping sends the filled
template to the contacts as ordinary charged messages, through the sending service like send.php.
The same ping (same group, ``ok``, name, host and info) again within the group's quiet period is
answered OK but not sent again; the record of what was sent is in the store, so the rule holds
across nodes and restarts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.codes import MessageType, RequestErrorCode
from smsgate.domain.sending import SendRequest
from smsgate.errors import RequestError, SmsgateError
from smsgate.services.sending import SendingService, SendOptions, SendResult
from smsgate.store.db import Database
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import monitoring as repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.monitoring import MonitorGroup
from smsgate.store.writer import GroupCommitWriter

DEFAULT_FAIL_TEMPLATE = "{NAME} on {HOST} failed: {INFO}"
DEFAULT_OK_TEMPLATE = "{NAME} on {HOST} is back: {INFO}"
DEFAULT_QUIET_S = 300
GROUP_NOT_FOUND = "task group not found"
MAX_NAME = 100


class MonitoringError(SmsgateError):
    """An administrative request about task groups that cannot be carried out."""


@dataclass(frozen=True, slots=True)
class NewGroup:
    name: str
    phones: str
    msg_type: MessageType = MessageType.SMS
    sender: str | None = None
    fail_template: str = DEFAULT_FAIL_TEMPLATE
    ok_template: str = DEFAULT_OK_TEMPLATE
    quiet_s: int = DEFAULT_QUIET_S


@dataclass(frozen=True, slots=True)
class Ping:
    """One ping.php call: ``ok`` chooses the recovery template, else the failure one."""

    group_id: int
    ok: bool = False
    name: str = ""
    host: str = ""
    info: str = ""

    def fingerprint(self) -> str:
        text = "\x1f".join((str(int(self.ok)), self.name, self.host, self.info))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class PingResult:
    # None when the same ping was sent within the quiet period (nothing sent now).
    sent: SendResult | None


def fill(template: str, ping: Ping) -> str:
    """The template with ``{NAME}``, ``{HOST}`` and ``{INFO}`` replaced (nothing else is)."""
    return (
        template.replace("{NAME}", ping.name)
        .replace("{HOST}", ping.host)
        .replace("{INFO}", ping.info)
    )


class MonitoringService:
    def __init__(
        self, db: Database, writer: GroupCommitWriter, sending: SendingService, clock: Clock
    ) -> None:
        self._db = db
        self._writer = writer
        self._sending = sending
        self._clock = clock

    async def create(self, login: str, group: NewGroup) -> MonitorGroup:
        """A new task group for the account; its id is what ping.php's ``id`` names."""
        if not group.name.strip() or len(group.name) > MAX_NAME:
            raise MonitoringError(f"a task group name has 1 to {MAX_NAME} characters")
        if not group.phones.strip():
            raise MonitoringError("a task group needs at least one contact")
        if group.quiet_s < 0:
            raise MonitoringError("the quiet period cannot be negative")
        account = await self._account(login)
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> MonitorGroup:
            group_id = await repo.insert_group(
                conn,
                account_id=account.id,
                name=group.name.strip(),
                msg_type=int(group.msg_type),
                sender=group.sender or None,
                phones=group.phones.strip(),
                fail_template=group.fail_template,
                ok_template=group.ok_template,
                quiet_s=group.quiet_s,
                created_at=now,
            )
            found = await repo.get_group(conn, account.id, group_id)
            assert found is not None
            return found

        return await self._writer.submit(op)

    async def groups(self, login: str) -> Sequence[MonitorGroup]:
        account = await self._account(login)
        async with self._db.read() as conn:
            return await repo.list_groups(conn, account.id)

    async def delete(self, login: str, group_id: int) -> None:
        account = await self._account(login)

        async def op(conn: AsyncConnection) -> bool:
            return await repo.delete_group(conn, account.id, group_id)

        if not await self._writer.submit(op):
            raise MonitoringError(f"no task group {group_id} for {login}")

    async def ping(self, account: AccountRecord, ping: Ping) -> PingResult:
        """Send the group's filled template to its contacts unless it is a duplicate.

        Errors: 3 when the account has no such group; the sending service's errors otherwise
        (then the ping is not recorded, so sending it again is not a duplicate).
        """
        async with self._db.read() as conn:
            group = await repo.get_group(conn, account.id, ping.group_id)
        if group is None:
            raise RequestError(RequestErrorCode.NO_MONEY, description=GROUP_NOT_FOUND)
        fingerprint = ping.fingerprint()
        now = self._clock.now()

        async def claim(conn: AsyncConnection) -> bool:
            return await repo.claim_ping(conn, group.id, fingerprint, now, group.quiet_s)

        if not await self._writer.submit(claim):
            return PingResult(sent=None)
        template = group.ok_template if ping.ok else group.fail_template
        msg_type = MessageType(group.msg_type)
        request = SendRequest(
            phones=group.phones,
            mes=fill(template, ping),
            sender=group.sender,
            msg_type=None if msg_type is MessageType.SMS else msg_type,
        )
        try:
            return PingResult(sent=await self._sending.send(account, request, SendOptions()))
        except BaseException:

            async def forget(conn: AsyncConnection) -> None:
                await repo.forget_ping(conn, group.id, fingerprint)

            await self._writer.submit(forget)
            raise

    async def _account(self, login: str) -> AccountRecord:
        async with self._db.read() as conn:
            account = await account_repo.get_by_login(conn, login.lower())
        if account is None:
            raise MonitoringError(f"no account {login!r}")
        return account
