"""Lockouts and request limits, shared by every ingress and every node (http-api.md §1.7).

State lives in the database (``store/repos/guards.py``), so a limit holds across nodes. Checks that
must be atomic (count, then record) run as one write operation through the group-commit writer; on
PostgreSQL they first take a transaction-scoped advisory lock on the login so two nodes cannot both
pass the same count.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.config import LimitsSettings, LockoutSettings
from smsgate.domain.codes import TOO_MANY_CONCURRENT, RequestErrorCode
from smsgate.errors import RequestError
from smsgate.store.db import Database
from smsgate.store.repos import guards as repo
from smsgate.store.writer import GroupCommitWriter


class Guards:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        limits: LimitsSettings,
        lockout: LockoutSettings,
        clock: Clock,
        node_id: str,
    ) -> None:
        self._db = db
        self._writer = writer
        self._limits = limits
        self._lockout = lockout
        self._clock = clock
        self._node_id = node_id

    async def check_ip(self, ip: str) -> None:
        """Raise error 4 while ``ip`` is locked out."""
        async with self._db.read() as conn:
            until = await repo.blocked_until(conn, ip, self._clock.now())
        if until is not None:
            raise RequestError(RequestErrorCode.IP_BLOCKED)

    async def auth_failed(self, ip: str) -> None:
        """Count a failed authentication; the ``auth_failures``-th within the window blocks the IP."""
        lockout = self._lockout

        async def op(conn: AsyncConnection) -> None:
            now = self._clock.now()
            failures = await repo.record_auth_failure(conn, ip, now, lockout.window)
            if failures >= lockout.auth_failures:
                await repo.block_ip(conn, ip, "auth", now + lockout.duration)

        await self._writer.submit(op)

    async def send_outcome(self, ip: str, *, ok: bool) -> None:
        """Track consecutive failed sends from ``ip``; a success resets the run."""
        lockout = self._lockout

        async def op(conn: AsyncConnection) -> None:
            if ok:
                await repo.reset_send_failures(conn, ip)
                return
            now = self._clock.now()
            failures = await repo.record_send_failure(conn, ip, now, lockout.failed_sends_window)
            if failures >= lockout.failed_sends:
                await repo.block_ip(conn, ip, "sends", now + lockout.failed_sends_duration)
                await repo.reset_send_failures(conn, ip)

        await self._writer.submit(op)

    async def check_rate(
        self, login: str, fingerprint: str, limit: int, *, description: str | None = None
    ) -> None:
        """Allow at most ``limit`` requests with this fingerprint per window, else error 9.

        Refused requests are not recorded, so a client that waits gets through again.
        """
        window = self._limits.window

        async def op(conn: AsyncConnection) -> bool:
            await self._lock_login(conn, login)
            now = self._clock.now()
            if await repo.count_requests(conn, login, fingerprint, now - window) >= limit:
                return False
            await repo.log_request(conn, login, fingerprint, now)
            return True

        if not await self._writer.submit(op):
            raise RequestError(RequestErrorCode.TOO_MANY, description=description)

    @asynccontextmanager
    async def request_slot(self, login: str) -> AsyncIterator[None]:
        """Hold one of the login's ``limits.concurrent`` request slots for the block's duration.

        A request that would make ``limits.concurrent`` or more requests of the login in progress
        at once is refused with error 9 (http-api.md §1.7).
        """
        token = secrets.token_hex(16)
        limit = self._limits.concurrent
        stale = self._limits.concurrent_stale

        async def acquire(conn: AsyncConnection) -> bool:
            await self._lock_login(conn, login)
            now = self._clock.now()
            if await repo.count_inflight(conn, login, now - stale) + 1 >= limit:
                return False
            await repo.add_inflight(conn, token, login, self._node_id, now)
            return True

        async def release(conn: AsyncConnection) -> None:
            await repo.remove_inflight(conn, token)

        if not await self._writer.submit(acquire):
            raise RequestError(RequestErrorCode.TOO_MANY, description=TOO_MANY_CONCURRENT)
        try:
            yield
        finally:
            await self._writer.submit(release)

    async def purge(self) -> None:
        """Drop rows no window can reach any more."""
        keep = max(
            self._limits.window,
            self._limits.concurrent_stale,
            self._lockout.window,
            self._lockout.failed_sends_window,
        )

        async def op(conn: AsyncConnection) -> None:
            await repo.purge_expired(conn, self._clock.now(), keep)

        await self._writer.submit(op)

    async def _lock_login(self, conn: AsyncConnection, login: str) -> None:
        if self._db.dialect == "postgresql":
            key = int.from_bytes(hashlib.sha256(login.encode()).digest()[:8], "big", signed=True)
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def request_fingerprint(path: str, params: dict[str, str]) -> str:
    """What makes two requests "identical": path and parameters, ignoring credentials and format."""
    ignored = {"login", "psw", "apikey", "fmt", "charset"}
    digest = hashlib.sha256(path.encode())
    for name in sorted(params):
        if name not in ignored:
            digest.update(b"\0" + name.encode() + b"=" + params[name].encode("utf-8", "replace"))
    return digest.hexdigest()
