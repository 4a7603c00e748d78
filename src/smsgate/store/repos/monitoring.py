"""ping.php task groups and the record of pings sent (for the quiet period)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import monitor_groups, monitor_pings


@dataclass(frozen=True, slots=True)
class MonitorGroup:
    id: int
    account_id: int
    name: str
    msg_type: int
    sender: str | None
    phones: str
    fail_template: str
    ok_template: str
    quiet_s: int
    created_at: float

    @classmethod
    def from_row(cls, row: RowMapping) -> MonitorGroup:
        return cls(**{name: row[name] for name in cls.__slots__})


_COLUMNS = [monitor_groups.c[name] for name in MonitorGroup.__slots__]


async def insert_group(conn: AsyncConnection, **values: object) -> int:
    result = await conn.execute(
        monitor_groups.insert().values(**values).returning(monitor_groups.c.id)
    )
    return int(result.scalar_one())


async def list_groups(conn: AsyncConnection, account_id: int) -> list[MonitorGroup]:
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(monitor_groups.c.account_id == account_id)
        .order_by(monitor_groups.c.id)
    )
    return [MonitorGroup.from_row(row) for row in rows.mappings()]


async def get_group(conn: AsyncConnection, account_id: int, group_id: int) -> MonitorGroup | None:
    """The group ``group_id`` if it belongs to ``account_id`` (groups are private to accounts)."""
    row = (
        (
            await conn.execute(
                select(*_COLUMNS).where(
                    monitor_groups.c.id == group_id, monitor_groups.c.account_id == account_id
                )
            )
        )
        .mappings()
        .first()
    )
    return MonitorGroup.from_row(row) if row is not None else None


async def delete_group(conn: AsyncConnection, account_id: int, group_id: int) -> bool:
    found = await get_group(conn, account_id, group_id)
    if found is None:
        return False
    await conn.execute(delete(monitor_pings).where(monitor_pings.c.group_id == group_id))
    await conn.execute(delete(monitor_groups).where(monitor_groups.c.id == group_id))
    return True


async def claim_ping(
    conn: AsyncConnection, group_id: int, fingerprint: str, now: float, quiet_s: float
) -> bool:
    """Record that this ping is sent now, unless the same ping was sent within ``quiet_s``;
    True when it is to be sent. Concurrent identical pings: only one gets True."""
    renewed = await conn.execute(
        update(monitor_pings)
        .where(
            monitor_pings.c.group_id == group_id,
            monitor_pings.c.fingerprint == fingerprint,
            monitor_pings.c.sent_at <= now - quiet_s,
        )
        .values(sent_at=now)
    )
    if renewed.rowcount:
        return True
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = await conn.execute(
        dialect.insert(monitor_pings)
        .values(group_id=group_id, fingerprint=fingerprint, sent_at=now)
        .on_conflict_do_nothing()
    )
    return bool(inserted.rowcount)


async def forget_ping(conn: AsyncConnection, group_id: int, fingerprint: str) -> None:
    """The ping could not be sent: the next identical one is not a duplicate."""
    await conn.execute(
        delete(monitor_pings).where(
            monitor_pings.c.group_id == group_id, monitor_pings.c.fingerprint == fingerprint
        )
    )
