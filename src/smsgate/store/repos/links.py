"""Short links (issue 7): link records, per-recipient codes, clicks (http-api.md §2.1, §11).

Every lookup an account makes names the account, so one account never reads another's records;
``/l/<code>`` is the one lookup by code alone (the code is the capability).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageStatus
from smsgate.domain.links import CounterDays
from smsgate.store.repos import events as event_repo
from smsgate.store.repos.dispatch import StatusChange
from smsgate.store.schema import (
    accounts,
    messages,
    short_link_clicks,
    short_link_codes,
    short_links,
)

# Codes checked per query (bound parameters stay well below SQLite's limit).
CHUNK = 500
# A click moves a message to "link clicked" only from these (codes.md §2: 1 → 4, 2 → 4).
CLICKABLE = (int(MessageStatus.DELIVERED), int(MessageStatus.READ))


@dataclass(frozen=True, slots=True)
class LinkRecord:
    id: int
    account_id: int
    url: str
    code: str
    created_at: float


@dataclass(frozen=True, slots=True)
class LinkCounters:
    total: int
    month: int
    today: int
    yesterday: int


@dataclass(frozen=True, slots=True)
class CodeTarget:
    """What ``/l/<code>`` leads to: the record's URL, its owner's zone and the message, if any."""

    code: str
    link_id: int
    account_id: int
    message_id: int | None
    url: str
    tz_minutes: int


_RECORD = [short_links.c[name] for name in LinkRecord.__slots__]


async def links_by_hash(
    conn: AsyncConnection, account_id: int, url_hashes: Collection[str]
) -> dict[str, LinkRecord]:
    """The account's records for these URL hashes, by hash."""
    found: dict[str, LinkRecord] = {}
    hashes = list(url_hashes)
    for i in range(0, len(hashes), CHUNK):
        rows = await conn.execute(
            select(short_links.c.url_hash, *_RECORD).where(
                short_links.c.account_id == account_id,
                short_links.c.url_hash.in_(hashes[i : i + CHUNK]),
            )
        )
        for row in rows:
            found[row.url_hash] = LinkRecord(*row[1:])
    return found


async def insert_links(conn: AsyncConnection, rows: Sequence[dict[str, object]]) -> None:
    """New records (account_id, url, url_hash, code, created_at); one that another transaction
    inserted meanwhile is left as it is (the caller reads the records back)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(
        dialect.insert(short_links).on_conflict_do_nothing(
            index_elements=[short_links.c.account_id, short_links.c.url_hash]
        ),
        list(rows),
    )


async def taken_codes(conn: AsyncConnection, codes: Collection[str]) -> set[str]:
    """Those of ``codes`` already in use."""
    wanted = list(codes)
    taken: set[str] = set()
    for i in range(0, len(wanted), CHUNK):
        rows = await conn.execute(
            select(short_link_codes.c.code).where(
                short_link_codes.c.code.in_(wanted[i : i + CHUNK])
            )
        )
        taken.update(str(code) for (code,) in rows)
    return taken


async def insert_codes(conn: AsyncConnection, rows: Sequence[dict[str, object]]) -> None:
    """Codes (code, link_id, account_id, message_id)."""
    if rows:
        await conn.execute(insert(short_link_codes), list(rows))


async def set_texts(conn: AsyncConnection, texts: Sequence[tuple[int, str]]) -> None:
    """Message texts with their minted codes, as (message id, text)."""
    if texts:
        await conn.execute(
            update(messages)
            .where(messages.c.id == bindparam("message_id"))
            .values(text=bindparam("new_text")),
            [{"message_id": mid, "new_text": text} for mid, text in texts],
        )


async def target(conn: AsyncConnection, code: str) -> CodeTarget | None:
    row = (
        await conn.execute(
            select(
                short_link_codes.c.code,
                short_link_codes.c.link_id,
                short_link_codes.c.account_id,
                short_link_codes.c.message_id,
                short_links.c.url,
                accounts.c.tz_minutes,
            )
            .select_from(
                short_link_codes.join(
                    short_links, short_links.c.id == short_link_codes.c.link_id
                ).join(accounts, accounts.c.id == short_links.c.account_id)
            )
            .where(short_link_codes.c.code == code)
        )
    ).first()
    return CodeTarget(*row) if row is not None else None


async def record_click(conn: AsyncConnection, clicked: CodeTarget, day: int, now: float) -> None:
    """Count one click of the code and of its record's day."""
    await conn.execute(
        update(short_link_codes)
        .where(short_link_codes.c.code == clicked.code)
        .values(
            clicks=short_link_codes.c.clicks + 1,
            first_click_at=func.coalesce(short_link_codes.c.first_click_at, now),
        )
    )
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(short_link_clicks).values(link_id=clicked.link_id, day=day, clicks=1)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[short_link_clicks.c.link_id, short_link_clicks.c.day],
            set_={"clicks": short_link_clicks.c.clicks + 1},
        )
    )


async def mark_clicked(conn: AsyncConnection, message_id: int, now: float) -> bool:
    """Move a delivered (1) or read (2) message to "link clicked" (4) with its event row; False
    when its status does not allow it (not delivered yet, failed, or already 4)."""
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.status.in_(CLICKABLE))
        .values(status=int(MessageStatus.CLICKED), updated_at=now)
        .returning(messages.c.account_id, messages.c.err)
    )
    row = result.first()
    if row is None:
        return False
    change = StatusChange(message_id, row.account_id, int(MessageStatus.CLICKED), row.err)
    await event_repo.record(conn, [change], now)
    return True


async def find(
    conn: AsyncConnection,
    account_id: int,
    *,
    link_id: int | None = None,
    url_hash: str | None = None,
    code: str | None = None,
) -> LinkRecord | None:
    """The account's record by id, by original URL (its hash) or by any of its codes."""
    query = select(*_RECORD).where(short_links.c.account_id == account_id)
    if link_id is not None:
        query = query.where(short_links.c.id == link_id)
    elif url_hash is not None:
        query = query.where(short_links.c.url_hash == url_hash)
    elif code is not None:
        query = query.where(
            short_links.c.id
            == select(short_link_codes.c.link_id)
            .where(short_link_codes.c.code == code)
            .scalar_subquery()
        )
    else:
        return None
    row = (await conn.execute(query)).first()
    return LinkRecord(*row) if row is not None else None


async def counters(conn: AsyncConnection, link_id: int, days: CounterDays) -> LinkCounters:
    c = short_link_clicks.c

    def total_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, c.clicks), else_=0)), 0)

    row = (
        await conn.execute(
            select(
                func.coalesce(func.sum(c.clicks), 0),
                total_where(c.day >= days.month_start),
                total_where(c.day == days.today),
                total_where(c.day == days.yesterday),
            ).where(c.link_id == link_id)
        )
    ).one()
    return LinkCounters(*(int(value) for value in row))
