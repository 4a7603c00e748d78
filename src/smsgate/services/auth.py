"""Authentication of every ingress: credentials, IP allow-lists and the IP lockout.

Every SMSC request carries credentials, so a successful password check is cached in memory: the key
is an HMAC (with a per-process secret) of the login and the presented secret, the entry remembers the
account's ``auth_version`` and expires after ``auth.cache_ttl``. The account row is read on every
request anyway (allow-list, disabled flag; through the :class:`AccountDirectory`, which keeps a row
for at most a second), so a change of password, key or allow-list, which bumps ``auth_version``, drops
cached verifications on this node at once and on every other node within that second.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum

from smsgate.clock import Clock
from smsgate.config import AuthSettings
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.network import ip_allowed, parse_allow_list
from smsgate.errors import RequestError
from smsgate.services.credentials import PasswordHasher, api_key_hash, password_forms
from smsgate.services.directory import AccountDirectory
from smsgate.services.guards import Guards
from smsgate.store.repos.accounts import AccountRecord


class BindRefusal(Enum):
    """Why an SMPP bind is refused; the server maps each to its command_status."""

    LOCKED_OUT = "IP locked out"
    BAD_CREDENTIALS = "unknown system_id or wrong password"
    ACCESS_OFF = "SMPP access off or account blocked"
    IP_NOT_ALLOWED = "address not in the account's allow-list"


class BindRefused(Exception):
    def __init__(self, refusal: BindRefusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presented. ``login`` empty + ``psw`` means ``psw`` is an API key."""

    login: str = ""
    psw: str = ""
    apikey: str = ""

    @property
    def api_key(self) -> str | None:
        if self.apikey:
            return self.apikey
        if not self.login and self.psw:
            return self.psw
        return None


@dataclass(frozen=True, slots=True)
class _CacheEntry:
    account_id: int
    auth_version: int
    expires_at: float


class VerificationCache:
    """Remembers successful password checks; bounded, with a TTL."""

    def __init__(self, ttl: float, max_entries: int, clock: Clock) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, _CacheEntry] = OrderedDict()

    def key(self, kind: str, login: str, secret: str) -> bytes:
        message = f"{kind}\0{login}\0{secret}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def hit(self, key: bytes, account: AccountRecord) -> bool:
        entry = self._entries.get(key)
        if entry is None:
            return False
        if (
            entry.account_id != account.id
            or entry.auth_version != account.auth_version
            or entry.expires_at <= self._clock.monotonic()
        ):
            del self._entries[key]
            return False
        return True

    def remember(self, key: bytes, account: AccountRecord) -> None:
        self._entries[key] = _CacheEntry(
            account.id, account.auth_version, self._clock.monotonic() + self._ttl
        )
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class Authenticator:
    """Turns presented credentials and a client IP into an account, or a request error."""

    def __init__(
        self,
        directory: AccountDirectory,
        hasher: PasswordHasher,
        guards: Guards,
        settings: AuthSettings,
        clock: Clock,
    ) -> None:
        self._directory = directory
        self._hasher = hasher
        self._guards = guards
        self.cache = VerificationCache(settings.cache_ttl, settings.cache_size, clock)
        self._running: dict[bytes, asyncio.Future[bool]] = {}

    async def authenticate(self, credentials: Credentials, ip: str) -> AccountRecord:
        """The authenticated account; error 4 while the IP is locked out, error 2 otherwise.

        Order (http-api.md §1.7): IP lockout, then credentials. A request naming a login whose
        allow-list contains ``ip`` is neither blocked nor counted toward the lockout.
        """
        account = await self._lookup(credentials)
        exempt = account is not None and _allow_listed(account, ip)
        if not exempt:
            await self._guards.check_ip(ip)
        if account is None or not await self._verify(account, credentials, ip):
            if not exempt:
                await self._guards.auth_failed(ip)
            raise RequestError(RequestErrorCode.AUTHORISE)
        return account

    async def bind_smpp(self, system_id: str, password: str, ip: str) -> AccountRecord:
        """An SMPP bind: checked in the order of protocols.md §3.2, refusals as :class:`BindRefused`.

        The IP lockout comes first (an allow-listed address is exempt, as on HTTP); then the login
        and the account's separate SMPP password (a wrong one counts toward the lockout); then
        whether SMPP is open to the account (an SMPP password set, not blocked) and to this address
        (an empty allow-list refuses SMPP).
        """
        account = await self._directory.by_login(system_id)
        exempt = account is not None and _allow_listed(account, ip)
        if not exempt:
            try:
                await self._guards.check_ip(ip)
            except RequestError:
                raise BindRefused(BindRefusal.LOCKED_OUT) from None
        ok = False
        if account is not None and account.smpp_password_hash is not None:
            key = self.cache.key("smpp", account.login, password)
            ok = self.cache.hit(key, account) or await self._hasher.verify(
                account.smpp_password_hash, [password]
            )
            if ok:
                self.cache.remember(key, account)
        else:
            await self._hasher.verify(None, [password])  # the same time for unknown logins
        if account is None or (account.smpp_password_hash is not None and not ok):
            if not exempt:
                await self._guards.auth_failed(ip)
            raise BindRefused(BindRefusal.BAD_CREDENTIALS)
        if account.smpp_password_hash is None or account.disabled:
            raise BindRefused(BindRefusal.ACCESS_OFF)
        if not exempt:
            raise BindRefused(BindRefusal.IP_NOT_ALLOWED)
        return account

    async def _lookup(self, credentials: Credentials) -> AccountRecord | None:
        key = credentials.api_key
        if key is not None:
            return await self._directory.by_api_key_hash(api_key_hash(key))
        if credentials.login:
            return await self._directory.by_login(credentials.login)
        return None

    async def _verify(self, account: AccountRecord, credentials: Credentials, ip: str) -> bool:
        if not _usable_from(account, ip):
            return False
        if credentials.api_key is not None:
            return True  # the key itself was matched by its hash in _lookup
        key = self.cache.key("password", account.login, credentials.psw)
        if self.cache.hit(key, account):
            return True
        return await self._verify_once(key, account, credentials.psw)

    async def _verify_once(self, key: bytes, account: AccountRecord, psw: str) -> bool:
        """argon2 for these credentials, shared by every request that asks while it runs: when the
        cached verification expires under load, one check runs, not one per waiting request."""
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running)
        task = asyncio.ensure_future(
            self._hasher.verify(account.password_hash, password_forms(psw))
        )
        self._running[key] = task
        try:
            ok = await asyncio.shield(task)
        finally:
            self._running.pop(key, None)
        if ok:
            self.cache.remember(key, account)
        return ok


def _allow_listed(account: AccountRecord, ip: str) -> bool:
    """The account has an allow-list and ``ip`` is on it."""
    return bool(account.allowed_ips) and ip_allowed(ip, parse_allow_list(account.allowed_ips))


def _usable_from(account: AccountRecord, ip: str) -> bool:
    return not account.disabled and (not account.allowed_ips or _allow_listed(account, ip))
