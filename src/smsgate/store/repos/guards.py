"""Rows behind the lockouts and rate limits (shared by every node through the database)."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import (
    auth_failures,
    inflight_requests,
    ip_blocks,
    request_log,
    send_failures,
)


async def blocked_until(conn: AsyncConnection, ip: str, now: float) -> float | None:
    """When the block on ``ip`` ends, or None when it is not blocked."""
    until = (
        await conn.execute(
            select(func.max(ip_blocks.c.until)).where(ip_blocks.c.ip == ip, ip_blocks.c.until > now)
        )
    ).scalar_one_or_none()
    return float(until) if until is not None else None


async def block_ip(conn: AsyncConnection, ip: str, reason: str, until: float) -> None:
    await conn.execute(delete(ip_blocks).where(ip_blocks.c.ip == ip))
    await conn.execute(insert(ip_blocks).values(ip=ip, reason=reason, until=until))


async def record_auth_failure(conn: AsyncConnection, ip: str, now: float, window: float) -> int:
    """Record a failed login from ``ip``; the number of failures inside the window, this one included."""
    await conn.execute(insert(auth_failures).values(ip=ip, at=now))
    return int(
        (
            await conn.execute(
                select(func.count())
                .select_from(auth_failures)
                .where(auth_failures.c.ip == ip, auth_failures.c.at > now - window)
            )
        ).scalar_one()
    )


async def record_send_failure(conn: AsyncConnection, ip: str, now: float, window: float) -> int:
    """Count one more consecutive failed send from ``ip``; the run restarts after ``window``."""
    row = (
        (
            await conn.execute(
                select(send_failures.c.count, send_failures.c.first_at).where(
                    send_failures.c.ip == ip
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None or row["first_at"] <= now - window:
        await conn.execute(delete(send_failures).where(send_failures.c.ip == ip))
        await conn.execute(insert(send_failures).values(ip=ip, count=1, first_at=now))
        return 1
    await conn.execute(
        update(send_failures).where(send_failures.c.ip == ip).values(count=row["count"] + 1)
    )
    return int(row["count"]) + 1


async def reset_send_failures(conn: AsyncConnection, ip: str) -> None:
    await conn.execute(delete(send_failures).where(send_failures.c.ip == ip))


async def count_requests(conn: AsyncConnection, login: str, fingerprint: str, since: float) -> int:
    return int(
        (
            await conn.execute(
                select(func.count())
                .select_from(request_log)
                .where(
                    request_log.c.login == login,
                    request_log.c.fingerprint == fingerprint,
                    request_log.c.at > since,
                )
            )
        ).scalar_one()
    )


async def log_request(conn: AsyncConnection, login: str, fingerprint: str, now: float) -> None:
    await conn.execute(insert(request_log).values(login=login, fingerprint=fingerprint, at=now))


async def count_inflight(conn: AsyncConnection, login: str, since: float) -> int:
    return int(
        (
            await conn.execute(
                select(func.count())
                .select_from(inflight_requests)
                .where(inflight_requests.c.login == login, inflight_requests.c.started_at > since)
            )
        ).scalar_one()
    )


async def add_inflight(
    conn: AsyncConnection, token: str, login: str, node: str, now: float
) -> None:
    await conn.execute(
        insert(inflight_requests).values(token=token, login=login, node=node, started_at=now)
    )


async def remove_inflight(conn: AsyncConnection, token: str) -> None:
    await conn.execute(delete(inflight_requests).where(inflight_requests.c.token == token))


async def purge_expired(conn: AsyncConnection, now: float, keep: float) -> None:
    """Delete guard rows that no window can reach any more (housekeeping)."""
    await conn.execute(delete(auth_failures).where(auth_failures.c.at < now - keep))
    await conn.execute(delete(request_log).where(request_log.c.at < now - keep))
    await conn.execute(delete(ip_blocks).where(ip_blocks.c.until < now))
    await conn.execute(delete(inflight_requests).where(inflight_requests.c.started_at < now - keep))
