"""Rows behind the lockouts and rate limits (shared by every node through the database)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import (
    auth_failures,
    ip_blocks,
    node_inflight,
    request_log,
    send_failures,
)


async def active_blocks(conn: AsyncConnection, now: float) -> dict[str, float]:
    """Every blocked IP and when its block ends."""
    rows = await conn.execute(
        select(ip_blocks.c.ip, func.max(ip_blocks.c.until))
        .where(ip_blocks.c.until > now)
        .group_by(ip_blocks.c.ip)
    )
    return {ip: float(until) for ip, until in rows}


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


# Statements of every send are built once (building one costs more than running it).
_RESET_SEND_FAILURES = delete(send_failures).where(
    send_failures.c.ip.in_(bindparam("ips", expanding=True))
)
_COUNT_REQUESTS = (
    select(request_log.c.login, request_log.c.fingerprint, func.count())
    .where(
        request_log.c.login.in_(bindparam("logins", expanding=True)),
        request_log.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
        request_log.c.at > bindparam("since", type_=request_log.c.at.type),
    )
    .group_by(request_log.c.login, request_log.c.fingerprint)
)
_LOG_REQUEST = insert(request_log)


async def reset_send_failures(conn: AsyncConnection, ips: Iterable[str]) -> None:
    wanted = list(ips)
    if wanted:
        await conn.execute(_RESET_SEND_FAILURES, {"ips": wanted})


async def count_requests(
    conn: AsyncConnection, logins: Iterable[str], fingerprints: Iterable[str], since: float
) -> Counter[tuple[str, str]]:
    """Logged requests per (login, fingerprint) since ``since``, for the given logins and prints."""
    params = {"logins": list(set(logins)), "fingerprints": list(set(fingerprints)), "since": since}
    rows = await conn.execute(_COUNT_REQUESTS, params)
    return Counter({(login, fp): int(n) for login, fp, n in rows})


async def log_requests(
    conn: AsyncConnection, entries: Sequence[tuple[str, str]], now: float
) -> None:
    if entries:
        await conn.execute(
            _LOG_REQUEST,
            [{"login": login, "fingerprint": fp, "at": now} for login, fp in entries],
        )


async def other_nodes_inflight(conn: AsyncConnection, node: str, since: float) -> Counter[str]:
    """Requests in progress per login on every other node that published since ``since``."""
    rows = await conn.execute(
        select(node_inflight.c.login, func.sum(node_inflight.c.count))
        .where(node_inflight.c.node != node, node_inflight.c.updated_at > since)
        .group_by(node_inflight.c.login)
    )
    return Counter({login: int(n) for login, n in rows})


async def publish_inflight(
    conn: AsyncConnection, node: str, counts: Mapping[str, int], now: float
) -> None:
    """Replace this node's published counts (logins with nothing in progress are left out)."""
    await conn.execute(delete(node_inflight).where(node_inflight.c.node == node))
    rows = [
        {"node": node, "login": login, "count": n, "updated_at": now}
        for login, n in counts.items()
        if n > 0
    ]
    if rows:
        await conn.execute(insert(node_inflight), rows)


async def purge_expired(conn: AsyncConnection, now: float, keep: float) -> None:
    """Delete guard rows that no window can reach any more (housekeeping)."""
    await conn.execute(delete(auth_failures).where(auth_failures.c.at < now - keep))
    await conn.execute(delete(request_log).where(request_log.c.at < now - keep))
    await conn.execute(delete(ip_blocks).where(ip_blocks.c.until < now))
    await conn.execute(delete(node_inflight).where(node_inflight.c.updated_at < now - keep))
