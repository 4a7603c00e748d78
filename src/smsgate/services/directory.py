"""Account rows by login or API key, cached for a moment.

Every compatible-API request names its account, so reading the row each time would be one query per
request on the hot path. Rows are kept for ``auth.account_cache_ttl`` (default 1 s): a change made on
this node is seen at once (the account service clears the cache), a change made on another node
within the TTL. Anything that must be exact (the balance shown by balance.php, a debit) reads the row
itself or works in SQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.services.caching import KeyedRefreshed
from smsgate.store.db import Database
from smsgate.store.repos import accounts as repo
from smsgate.store.repos.accounts import AccountRecord

_MAX_ENTRIES = 100_000
_Loader = Callable[[AsyncConnection], Awaitable[AccountRecord | None]]


class AccountDirectory:
    def __init__(self, db: Database, clock: Clock, ttl_s: float) -> None:
        self._db = db
        self._clock = clock
        self._ttl = ttl_s
        self._entries: KeyedRefreshed[tuple[str, str], AccountRecord | None] = KeyedRefreshed(
            clock, ttl_s, max_entries=_MAX_ENTRIES
        )

    async def by_login(self, login: str) -> AccountRecord | None:
        return await self._get(("login", login.lower()), lambda c: repo.get_by_login(c, login))

    async def by_api_key_hash(self, key_hash: str) -> AccountRecord | None:
        return await self._get(("key", key_hash), lambda c: repo.get_by_api_key_hash(c, key_hash))

    async def fresh(self, account_id: int) -> AccountRecord | None:
        """The row as it is now, bypassing the cache."""
        async with self._db.read() as conn:
            return await repo.get_by_id(conn, account_id)

    def forget_all(self) -> None:
        self._entries.clear()

    async def _get(self, key: tuple[str, str], load: _Loader) -> AccountRecord | None:
        async def read() -> AccountRecord | None:
            async with self._db.read() as conn:
                return await load(conn)

        return await self._entries.get(key, read)
