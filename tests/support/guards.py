"""Putting the shared guards (http-api.md §1.7) in a state for a test: an IP blocked, or a login's
requests in progress on another node."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.services.container import Services
from smsgate.store.repos import guards as guard_repo
from tests.support.clock import ManualClock


async def block_ip(services: Services, clock: ManualClock, ip: str) -> None:
    """``ip`` blocked for ten minutes (as after too many failed logins), seen by this node."""

    async def op(conn: AsyncConnection) -> None:
        await guard_repo.block_ip(conn, ip, "auth", clock.now() + 600)

    await services.writer.submit(op)
    await clock.advance(1)


async def busy_elsewhere(services: Services, clock: ManualClock, login: str = "alice") -> None:
    """Fourteen of ``login``'s requests in progress on another node: the next one is the fifteenth."""

    async def op(conn: AsyncConnection) -> None:
        await guard_repo.publish_inflight(conn, "node-b", {login: 14}, clock.now())

    await services.writer.submit(op)
    await clock.advance(services.settings.limits.concurrent_publish)
