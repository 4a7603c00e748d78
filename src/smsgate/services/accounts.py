"""Account administration: create, change, top up, API keys."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.logins import is_valid_login
from smsgate.domain.money import to_ledger
from smsgate.domain.network import format_allow_list, parse_allow_list
from smsgate.errors import SmsgateError
from smsgate.services.credentials import PasswordHasher, api_key_hash, new_api_key
from smsgate.services.directory import AccountDirectory
from smsgate.store.db import Database
from smsgate.store.repos import accounts as repo
from smsgate.store.repos.accounts import AccountRecord, ApiKeyRecord
from smsgate.store.writer import GroupCommitWriter

MIN_PASSWORD_LENGTH = 8


class AccountError(SmsgateError):
    """An administrative request about an account that cannot be carried out."""


@dataclass(frozen=True, slots=True)
class AccountChanges:
    """Fields to change; ``None`` leaves a field as it is."""

    password: str | None = None
    smpp_password: str | None = None
    allowed_ips: str | None = None
    callback_url: str | None = None
    callback_secret: str | None = None
    test_mode: bool | None = None
    disabled: bool | None = None
    default_sender: str | None = None
    credit_limit: Decimal | None = None


class AccountService:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        hasher: PasswordHasher,
        directory: AccountDirectory,
        clock: Clock,
    ) -> None:
        self._db = db
        self._directory = directory
        self._writer = writer
        self._hasher = hasher
        self._clock = clock

    async def create(
        self,
        login: str,
        password: str,
        *,
        balance: Decimal = Decimal(0),
        currency: str = "RUR",
        test_mode: bool = False,
        parent_id: int | None = None,
    ) -> AccountRecord:
        if not is_valid_login(login):
            raise AccountError(f"invalid login {login!r}: letters, digits, . _ @ - (max 64)")
        _check_password(password)
        password_hash = await self._hasher.hash_password(password)
        now = self._clock.now()
        values: dict[str, Any] = {
            "login": login.lower(),
            "password_hash": password_hash,
            "balance": to_ledger(balance),
            "currency": currency,
            "test_mode": test_mode,
            "parent_id": parent_id,
            "callback_secret": secrets.token_hex(16),
            "created_at": now,
            "updated_at": now,
        }

        async def op(conn: AsyncConnection) -> AccountRecord:
            account_id = await repo.insert_account(conn, **values)
            record = await repo.get_by_id(conn, account_id)
            assert record is not None
            return record

        try:
            return await self._writer.submit(op)
        except IntegrityError:
            raise AccountError(f"login {login.lower()!r} is taken") from None

    async def change(self, login: str, changes: AccountChanges) -> AccountRecord:
        account = await self.get(login)
        values = await self._access_values(changes)
        # Any change to how the account authenticates drops cached verifications everywhere.
        bump = bool(values)
        values.update(_profile_values(changes))
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> AccountRecord:
            await repo.update_account(conn, account.id, bump_auth=bump, now=now, **values)
            record = await repo.get_by_id(conn, account.id)
            assert record is not None
            return record

        record = await self._writer.submit(op)
        self._directory.forget_all()
        return record

    async def _access_values(self, changes: AccountChanges) -> dict[str, Any]:
        """Column values for changes that affect authentication."""
        values: dict[str, Any] = {}
        if changes.password is not None:
            _check_password(changes.password)
            values["password_hash"] = await self._hasher.hash_password(changes.password)
        if changes.smpp_password is not None:
            if not 1 <= len(changes.smpp_password) <= 8:
                raise AccountError("an SMPP password has 1 to 8 characters (SMPP 3.4 §5.2.4)")
            values["smpp_password_hash"] = await self._hasher.hash_secret(changes.smpp_password)
        if changes.allowed_ips is not None:
            try:
                values["allowed_ips"] = format_allow_list(parse_allow_list(changes.allowed_ips))
            except ValueError as exc:
                raise AccountError(str(exc)) from None
        if changes.disabled is not None:
            values["disabled"] = changes.disabled
        return values

    async def top_up(self, login: str, amount: Decimal) -> Decimal:
        """Add ``amount`` (negative to deduct) to the balance; the new balance."""
        account = await self.get(login)
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> Decimal | None:
            return await repo.add_to_balance(conn, account.id, to_ledger(amount), now)

        balance = await self._writer.submit(op)
        assert balance is not None
        return balance

    async def new_api_key(self, login: str, name: str = "") -> tuple[ApiKeyRecord, str]:
        """Create an API key; the key itself is returned only here (it is stored hashed)."""
        account = await self.get(login)
        key = new_api_key()
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> int:
            return await repo.insert_api_key(
                conn, account.id, api_key_hash(key), key[:10], name, now
            )

        key_id = await self._writer.submit(op)
        self._directory.forget_all()
        return ApiKeyRecord(key_id, account.id, key[:10], name, now, None), key

    async def api_keys(self, login: str) -> Sequence[ApiKeyRecord]:
        account = await self.get(login)
        async with self._db.read() as conn:
            return await repo.list_api_keys(conn, account.id)

    async def revoke_api_key(self, login: str, key_id: int) -> None:
        account = await self.get(login)
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> bool:
            return await repo.revoke_api_key(conn, account.id, key_id, now)

        if not await self._writer.submit(op):
            raise AccountError(f"no active API key {key_id} for {account.login!r}")
        self._directory.forget_all()

    async def get(self, login: str) -> AccountRecord:
        async with self._db.read() as conn:
            account = await repo.get_by_login(conn, login)
        if account is None:
            raise AccountError(f"no account {login.lower()!r}")
        return account

    async def list(self) -> Sequence[AccountRecord]:
        async with self._db.read() as conn:
            return await repo.list_all(conn)

    async def count(self) -> int:
        async with self._db.read() as conn:
            return await repo.count(conn)


def _profile_values(changes: AccountChanges) -> dict[str, Any]:
    """Column values for changes that do not affect authentication."""
    values: dict[str, Any] = {}
    for name in ("callback_url", "callback_secret", "default_sender"):
        value = getattr(changes, name)
        if value is not None:
            values[name] = value or None  # an empty value clears the field
    if changes.callback_url:
        _check_callback_url(changes.callback_url)
    if changes.test_mode is not None:
        values["test_mode"] = changes.test_mode
    if changes.credit_limit is not None:
        if changes.credit_limit < 0:
            raise AccountError("a credit limit cannot be negative")
        values["credit_limit"] = to_ledger(changes.credit_limit)
    return values


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")


def _check_callback_url(url: str) -> None:
    if not re.match(r"^https?://[^\s/]+", url):
        raise AccountError("a callback URL must be an http:// or https:// URL")
