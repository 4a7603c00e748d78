"""Sub-clients of a main account (users.php, http-api.md §7).

A main account sees and manages only its own sub-clients: every lookup goes through
``repos.subclients.find_child`` with the caller's id, so another main account's sub-client is "user
not found" (error 6), exactly like one that does not exist. An account that is itself a sub-client
cannot have sub-clients (error 8): resellers are the top-level accounts.

``pay`` moves money between the main account and a sub-client in one transaction: one conditional
UPDATE debits the payer only while its balance stays at or above ``-credit_limit``, the payee is
credited and the transfer recorded in the same transaction, so money is never lost or created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.account_codes import AccountRefusal
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.logins import is_valid_login
from smsgate.domain.money import to_ledger
from smsgate.domain.subclient_settings import (
    SplitSettings,
    SubclientSettings,
    merge_flags,
    merge_profile,
    split_settings,
)
from smsgate.domain.subclients import FLAG_MAIN_SENDERS, PolicyError, ShareType
from smsgate.errors import RequestError
from smsgate.services.credentials import PasswordHasher, password_forms
from smsgate.services.directory import AccountDirectory
from smsgate.services.policies import PolicyService, policy_of
from smsgate.services.refusals import refuse
from smsgate.services.senders import SenderService
from smsgate.store.db import Database
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import subclients as repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.subclients import PolicyRecord
from smsgate.store.writer import GroupCommitWriter

MOSCOW_OFFSET_S = 3 * 3600


@dataclass(frozen=True, slots=True)
class ChildRef:
    """A sub-client named by ``user`` (login) or ``user_id``."""

    login: str | None = None
    child_id: int | None = None


@dataclass(frozen=True, slots=True)
class Subclient:
    account: AccountRecord
    policy: PolicyRecord | None

    @property
    def share_type(self) -> ShareType:
        return policy_of(self.policy).share_type


@dataclass(frozen=True, slots=True)
class StatRow:
    login: str
    cnt: int
    credit: Decimal  # money spent
    debit: Decimal  # money received by transfers (net)
    currency: str


@dataclass(frozen=True, slots=True)
class DailyStatRow:
    login: str
    day: date
    msg_type: int
    cnt: int
    credit: Decimal


class SubclientService:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        hasher: PasswordHasher,
        directory: AccountDirectory,
        policies: PolicyService,
        senders: SenderService,
        clock: Clock,
    ) -> None:
        self._db = db
        self._writer = writer
        self._hasher = hasher
        self._directory = directory
        self._policies = policies
        self._senders = senders
        self._clock = clock

    async def add(
        self, parent: AccountRecord, login: str, settings: SubclientSettings
    ) -> AccountRecord:
        """Create a sub-client of ``parent``; error 8 when ``parent`` is itself a sub-client."""
        _check_reseller(parent)
        login = login.strip()
        if not is_valid_login(login):
            raise RequestError(RequestErrorCode.PARAMETERS, "invalid user login")
        if not settings.password:
            raise RequestError(RequestErrorCode.PARAMETERS, "password is required")
        split = _split(settings)
        if split.sender:
            raise RequestError(RequestErrorCode.PARAMETERS, "a new sub-client has no senders yet")
        password_hash = await self._hasher.hash_password(settings.password)
        now = self._clock.now()
        values: dict[str, Any] = {
            "login": login.lower(),
            "password_hash": password_hash,
            "currency": parent.currency,
            "tz_minutes": parent.tz_minutes,
            "parent_id": parent.id,
            "created_at": now,
            "updated_at": now,
            **split.account,
        }

        async def op(conn: AsyncConnection) -> AccountRecord | None:
            if await account_repo.get_by_login(conn, values["login"]) is not None:
                return None
            account_id = await account_repo.insert_account(conn, **values)
            await _store_policy(conn, account_id, None, split, now)
            return await account_repo.get_by_id(conn, account_id)

        try:
            record = await self._writer.submit(op)
        except IntegrityError:  # the same login created at the same moment elsewhere
            record = None
        if record is None:
            raise refuse(AccountRefusal.LOGIN_TAKEN)
        return record

    async def change(
        self,
        parent: AccountRecord,
        ref: ChildRef,
        settings: SubclientSettings,
        *,
        new_login: str | None = None,
        current_password: str | None = None,
    ) -> None:
        child = await self.get(parent, ref)
        split = _split(settings)
        if current_password and not await self._hasher.verify(
            child.account.password_hash, password_forms(current_password)
        ):
            raise RequestError(RequestErrorCode.PARAMETERS, "pswc is not the current password")
        values = dict(split.account)
        bump = "disabled" in values
        if split.password is not None:
            values["password_hash"] = await self._hasher.hash_password(split.password)
            bump = True
        if new_login is not None and new_login.strip():
            if not is_valid_login(new_login.strip()):
                raise RequestError(RequestErrorCode.PARAMETERS, "invalid new_login")
            values["login"] = new_login.strip().lower()
            bump = True
        if split.sender is not None:
            values["default_sender"] = await self._checked_sender(child, split)
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> bool:
            login = str(values.get("login") or child.account.login)
            renamed = login != child.account.login
            if renamed and await account_repo.get_by_login(conn, login) is not None:
                return False
            if values:
                await account_repo.update_account(
                    conn, child.account.id, bump_auth=bump, now=now, **values
                )
            stored = await repo.get_policy(conn, child.account.id)
            await _store_policy(conn, child.account.id, stored, split, now)
            return True

        try:
            done = await self._writer.submit(op)
        except IntegrityError:
            done = False
        if not done:
            raise refuse(AccountRefusal.LOGIN_TAKEN)
        self._directory.forget_all()
        self._policies.forget(child.account.id)
        self._senders.forget(child.account.id)

    async def _checked_sender(self, child: Subclient, split: SplitSettings) -> str | None:
        """A default sender must be one the sub-client may send from (error 1 otherwise)."""
        if not split.sender:
            return None
        account = child.account
        flags = set(policy_of(child.policy).flags)
        for name, on in split.flags.items():
            (flags.add if on else flags.discard)(name)
        if await self._senders.may_send_from(account, split.sender):
            return split.sender
        if FLAG_MAIN_SENDERS in flags and account.parent_id is not None:
            parent = await self._directory.fresh(account.parent_id)
            if parent is not None and await self._senders.may_send_from(parent, split.sender):
                return split.sender
        raise RequestError(RequestErrorCode.PARAMETERS, "sender is not an approved sender")

    async def pay(self, parent: AccountRecord, ref: ChildRef, amount: Decimal) -> None:
        """Move ``amount`` from ``parent`` to the sub-client (negative: back); error 3 when the
        paying side's balance would drop below its ``-credit_limit``."""
        child = await self.get(parent, ref)
        amount = to_ledger(amount)
        if amount == 0:
            raise RequestError(RequestErrorCode.PARAMETERS, "sum must not be 0")
        payer, payee = (
            (parent.id, child.account.id) if amount > 0 else (child.account.id, parent.id)
        )
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> bool:
            return await repo.transfer(conn, payer, payee, abs(amount), now)

        if not await self._writer.submit(op):
            raise refuse(AccountRefusal.PAY_NO_MONEY)

    async def paying_account_id(self, account: AccountRecord) -> int:
        """The account whose balance ``account`` spends: its main account's for sub-clients on
        the main balance (users.php ``type`` 2, 3, 4; balance.php shows that one, §4)."""
        if account.parent_id is None:
            return account.id
        policy = await self._policies.get(account.id)
        return account.parent_id if policy.share_type.uses_main_balance else account.id

    async def get(self, parent: AccountRecord, ref: ChildRef) -> Subclient:
        """A sub-client of ``parent``; error 6 for any other account, existing or not."""
        _check_reseller(parent)
        async with self._db.read() as conn:
            account = await repo.find_child(conn, parent.id, login=ref.login, child_id=ref.child_id)
            policy = await repo.get_policy(conn, account.id) if account else None
        if account is None:
            raise refuse(AccountRefusal.USER_NOT_FOUND)
        return Subclient(account, policy)

    async def list(self, parent: AccountRecord) -> Sequence[Subclient]:
        _check_reseller(parent)
        async with self._db.read() as conn:
            children = await repo.list_children(conn, parent.id)
        return [Subclient(account, policy) for account, policy in children]

    async def stats(
        self,
        parent: AccountRecord,
        start: float,
        end: float,
        *,
        ref: ChildRef | None = None,
        main_balance: bool | None = None,
    ) -> Sequence[StatRow]:
        """Per sub-client: parts sent and money spent in ``[start, end)``, money received."""
        children = await self._chosen(parent, ref, main_balance)
        ids = [c.account.id for c in children]
        async with self._db.read() as conn:
            spent = {s.account_id: s for s in await repo.spending(conn, ids, start, end)}
            received = await repo.received(conn, ids, start, end)
        rows = []
        for child in children:
            s = spent.get(child.account.id)
            rows.append(
                StatRow(
                    login=child.account.login,
                    cnt=s.parts if s else 0,
                    credit=s.cost if s else Decimal(0),
                    debit=received.get(child.account.id, Decimal(0)),
                    currency=child.account.currency,
                )
            )
        return rows

    async def daily_stats(
        self,
        parent: AccountRecord,
        start: float,
        end: float,
        *,
        ref: ChildRef | None = None,
        main_balance: bool | None = None,
    ) -> Sequence[DailyStatRow]:
        """One row per sub-client, day (in the main account's zone) and message type."""
        children = await self._chosen(parent, ref, main_balance)
        logins = {c.account.id: c.account.login for c in children}
        offset = MOSCOW_OFFSET_S + parent.tz_minutes * 60
        async with self._db.read() as conn:
            spent = await repo.spending(
                conn, list(logins), start, end, by_day_and_type=True, offset_s=offset
            )
        epoch = date(1970, 1, 1)
        return [
            DailyStatRow(
                logins[s.account_id], epoch + timedelta(days=s.day), s.msg_type, s.parts, s.cost
            )
            for s in spent
        ]

    async def _chosen(
        self, parent: AccountRecord, ref: ChildRef | None, main_balance: bool | None
    ) -> Sequence[Subclient]:
        if ref is not None:
            children: Sequence[Subclient] = [await self.get(parent, ref)]
        else:
            children = await self.list(parent)
        if main_balance is None:
            return children
        return [c for c in children if c.share_type.uses_main_balance == main_balance]


def _check_reseller(account: AccountRecord) -> None:
    if account.parent_id is not None:
        raise refuse(AccountRefusal.NOT_RESELLER, "a sub-client cannot have sub-clients")


def _split(settings: SubclientSettings) -> SplitSettings:
    try:
        return split_settings(settings)
    except (PolicyError, ValueError) as exc:
        raise RequestError(RequestErrorCode.PARAMETERS, str(exc)) from None


async def _store_policy(
    conn: AsyncConnection,
    account_id: int,
    stored: PolicyRecord | None,
    split: SplitSettings,
    now: float,
) -> None:
    values = dict(split.policy)
    if split.flags:
        values["flags"] = merge_flags(stored.flags if stored else "[]", split.flags)
    if split.profile:
        values["profile"] = merge_profile(stored.profile if stored else "{}", split.profile)
    if values or stored is None:
        await repo.put_policy(conn, account_id, now, **values)
