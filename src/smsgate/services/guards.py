"""Lockouts and request limits, shared by every ingress and every node (http-api.md §1.7).

State lives in the database (``store/repos/guards.py``), so a limit holds across nodes. Checks that
must be atomic (count, then record) run inside the group-commit writer as batch kinds: one transaction
counts and records the checks of many concurrent requests with a few set-based statements. On
PostgreSQL a batch first takes transaction-scoped advisory locks on its logins (in sorted order), so
two nodes cannot both pass the same count.

The set of blocked IPs is read from the store at most once per ``refresh_s`` and kept in memory: a block
written by this node applies at once, one written by another node within ``refresh_s``. Requests in
progress are counted in memory per node and published to the store every second (``publish_slots``),
so a request never waits for a commit to take or free its slot.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.config import LimitsSettings, LockoutSettings
from smsgate.domain.codes import TOO_MANY_CONCURRENT, RequestErrorCode
from smsgate.errors import RequestError
from smsgate.store.db import Database
from smsgate.store.repos import guards as repo
from smsgate.store.writer import Batched, GroupCommitWriter

BLOCK_REFRESH_S = 1.0


@dataclass(frozen=True, slots=True)
class _RateCheck:
    login: str
    fingerprint: str
    limit: int


class _RateKind:
    """Count, then record, the requests of many rate checks in one go."""

    def __init__(self, guards: Guards) -> None:
        self._guards = guards

    async def run(self, conn: AsyncConnection, items: Sequence[_RateCheck]) -> list[bool]:
        guards = self._guards
        await guards.lock_logins(conn, [item.login for item in items])
        now = guards.clock.now()
        counts = await repo.count_requests(
            conn,
            [item.login for item in items],
            [item.fingerprint for item in items],
            now - guards.limits.window,
        )
        allowed: list[bool] = []
        logged: list[tuple[str, str]] = []
        for item in items:
            key = (item.login, item.fingerprint)
            ok = counts[key] < item.limit
            if ok:
                counts[key] += 1
                logged.append(key)
            allowed.append(ok)
        await repo.log_requests(conn, logged, now)
        return allowed


class _SendSuccessKind:
    """A successful send ends the run of failed sends of its IP."""

    async def run(self, conn: AsyncConnection, items: Sequence[str]) -> list[None]:
        await repo.reset_send_failures(conn, set(items))
        return [None] * len(items)


class Guards:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        limits: LimitsSettings,
        lockout: LockoutSettings,
        clock: Clock,
        node_id: str,
        *,
        refresh_s: float = BLOCK_REFRESH_S,
    ) -> None:
        self._db = db
        self._writer = writer
        self.limits = limits
        self._lockout = lockout
        self.clock = clock
        self.node_id = node_id
        self._refresh_s = refresh_s
        self._blocks: dict[str, float] = {}
        self._blocks_loaded_at: float | None = None
        self._blocks_lock = asyncio.Lock()
        self._rate = _RateKind(self)
        self._send_success = _SendSuccessKind()
        # Requests in progress: this node's, counted here, and the other nodes', as published.
        self._local: Counter[str] = Counter()
        self._remote: Counter[str] = Counter()
        self._remote_loaded_at: float | None = None

    async def check_ip(self, ip: str) -> None:
        """Raise error 4 while ``ip`` is locked out."""
        blocks = await self._current_blocks()
        if blocks.get(ip, 0.0) > self.clock.now():
            raise RequestError(RequestErrorCode.IP_BLOCKED)

    async def auth_failed(self, ip: str) -> None:
        """Count a failed authentication; the ``auth_failures``-th within the window blocks the IP."""
        lockout = self._lockout

        async def op(conn: AsyncConnection) -> float | None:
            now = self.clock.now()
            failures = await repo.record_auth_failure(conn, ip, now, lockout.window)
            if failures < lockout.auth_failures:
                return None
            await repo.block_ip(conn, ip, "auth", now + lockout.duration)
            return now + lockout.duration

        until = await self._writer.submit(op)
        if until is not None:
            self._blocks[ip] = until

    async def send_outcome(self, ip: str, *, ok: bool) -> None:
        """Track consecutive failed sends from ``ip``; a success resets the run."""
        if ok:
            await self._writer.submit(Batched(self._send_success, ip))
            return
        lockout = self._lockout

        async def op(conn: AsyncConnection) -> float | None:
            now = self.clock.now()
            failures = await repo.record_send_failure(conn, ip, now, lockout.failed_sends_window)
            if failures < lockout.failed_sends:
                return None
            await repo.block_ip(conn, ip, "sends", now + lockout.failed_sends_duration)
            await repo.reset_send_failures(conn, [ip])
            return now + lockout.failed_sends_duration

        until = await self._writer.submit(op)
        if until is not None:
            self._blocks[ip] = until

    async def check_rate(
        self, login: str, fingerprint: str, limit: int, *, description: str | None = None
    ) -> None:
        """Allow at most ``limit`` requests with this fingerprint per window, else error 9.

        Refused requests are not recorded, so a client that waits gets through again.
        """
        allowed: bool = await self._writer.submit(
            Batched(self._rate, _RateCheck(login, fingerprint, limit))
        )
        if not allowed:
            raise RequestError(RequestErrorCode.TOO_MANY, description=description)

    async def acquire_slot(self, login: str) -> str:
        """Take one of the login's request slots; the token to release it with.

        A request that would make ``limits.concurrent`` or more requests of the login in progress
        at once, on this node and the others together, is refused with error 9 (http-api.md §1.7).
        This node's count is exact; the other nodes' is at most ``concurrent_publish`` old.
        """
        remote = await self._other_nodes()
        if self._local[login] + remote[login] + 1 >= self.limits.concurrent:
            raise RequestError(RequestErrorCode.TOO_MANY, description=TOO_MANY_CONCURRENT)
        self._local[login] += 1
        return login

    async def release_slot(self, token: str) -> None:
        self._local[token] -= 1
        if self._local[token] <= 0:
            del self._local[token]

    def in_progress(self, login: str) -> int:
        """Requests of ``login`` in progress on this node."""
        return self._local[login]

    async def publish_slots(self) -> None:
        """Publish this node's requests in progress for the other nodes (every second)."""
        counts = dict(self._local)

        async def op(conn: AsyncConnection) -> None:
            await repo.publish_inflight(conn, self.node_id, counts, self.clock.now())

        await self._writer.submit(op)

    async def _other_nodes(self) -> Counter[str]:
        loaded = self._remote_loaded_at
        if loaded is not None and self.clock.monotonic() - loaded < self.limits.concurrent_publish:
            return self._remote
        self._remote_loaded_at = self.clock.monotonic()
        since = self.clock.now() - self.limits.concurrent_stale
        async with self._db.read() as conn:
            self._remote = await repo.other_nodes_inflight(conn, self.node_id, since)
        return self._remote

    async def purge(self) -> None:
        """Drop rows no window can reach any more."""
        keep = max(
            self.limits.window,
            self.limits.concurrent_stale,
            self._lockout.window,
            self._lockout.failed_sends_window,
        )

        async def op(conn: AsyncConnection) -> None:
            await repo.purge_expired(conn, self.clock.now(), keep)

        await self._writer.submit(op)

    async def lock_logins(self, conn: AsyncConnection, logins: Sequence[str]) -> None:
        """On PostgreSQL, serialise limit checks of these logins across nodes (sorted: no deadlock
        between two batches of this kind)."""
        if self._db.dialect != "postgresql":
            return
        keys = sorted({_lock_key(login) for login in logins})
        statement = text(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(:keys) AS k ORDER BY 1) AS s"
        ).bindparams(bindparam("keys", type_=ARRAY(BIGINT)))
        await conn.execute(statement, {"keys": keys})

    async def _current_blocks(self) -> dict[str, float]:
        loaded = self._blocks_loaded_at
        if loaded is not None and self.clock.monotonic() - loaded < self._refresh_s:
            return self._blocks
        async with self._blocks_lock:
            loaded = self._blocks_loaded_at
            if loaded is None or self.clock.monotonic() - loaded >= self._refresh_s:
                async with self._db.read() as conn:
                    self._blocks = await repo.active_blocks(conn, self.clock.now())
                self._blocks_loaded_at = self.clock.monotonic()
        return self._blocks


def _lock_key(login: str) -> int:
    return int.from_bytes(hashlib.sha256(login.encode()).digest()[:8], "big", signed=True)


def request_fingerprint(path: str, params: dict[str, str]) -> str:
    """What makes two requests "identical": path and parameters, ignoring credentials and format."""
    ignored = {"login", "psw", "apikey", "fmt", "charset"}
    digest = hashlib.sha256(path.encode())
    for name in sorted(params):
        if name not in ignored:
            digest.update(b"\0" + name.encode() + b"=" + params[name].encode("utf-8", "replace"))
    return digest.hexdigest()
