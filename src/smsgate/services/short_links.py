"""Tracked short links (issue 7: send.php ``tinyurl=1``, ``GET /l/<code>``, tinyurls.php).

Minting (:func:`attach_links`) runs inside the transaction that stores the messages: the sending
service inserts the rows with placeholder codes (priced as sent, domain/links.py), then this mints
one code per message and URL, creates the account's record of each URL on first use, and writes
the final texts, so an acknowledged message already carries its links. Codes are
``secrets``-random base62 strings of ``links.code_length`` characters; a code already in use (or
drawn twice in one batch) is drawn again. Two nodes drawing the same fresh code at the same moment
fail one transaction on the primary key, and the group-commit writer runs that send again on its
own with fresh codes.

A click (:meth:`LinkService.click`) counts on the code and on its record's day in the owner's zone,
and moves a delivered (1) or read (2) message to "link clicked" (4) with an event row, so the
client's callback fires; any other status stays (codes.md §2 allows only 1 → 4 and 2 → 4). A click
before the delivery receipt therefore changes nothing; the next click after it does.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.links import (
    BASE62,
    LinkSlot,
    LinkStyle,
    code_of,
    counter_days,
    day_number,
    fill,
    is_code,
)
from smsgate.store.db import Database
from smsgate.store.repos import links as repo
from smsgate.store.repos.links import LinkCounters, LinkRecord
from smsgate.store.writer import GroupCommitWriter

CodeSource = Callable[[int], str]


def random_code(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class LinkedMessage:
    """A stored message whose text still has placeholder codes."""

    message_id: int
    account_id: int
    text: str
    slots: tuple[LinkSlot, ...]


@dataclass(frozen=True, slots=True)
class LinkReport:
    """A record as tinyurls.php shows it."""

    record: LinkRecord
    link: str
    counters: LinkCounters


async def attach_links(
    conn: AsyncConnection,
    linked: Sequence[LinkedMessage],
    now: float,
    code_length: int,
    new_code: CodeSource = random_code,
) -> None:
    """Mint the codes of ``linked`` messages and store them with their final texts."""
    if not linked:
        return
    urls = {(m.account_id, slot.url) for m in linked for slot in m.slots}
    records: dict[tuple[int, str], LinkRecord] = {}
    for account_id in {a for a, _ in urls}:
        hashes = {url_hash(u): u for a, u in urls if a == account_id}
        for found in (await repo.links_by_hash(conn, account_id, hashes)).values():
            records[(account_id, found.url)] = found
    missing = sorted(urls - records.keys())
    message_urls = [(m, sorted({slot.url for slot in m.slots})) for m in linked]
    wanted = len(missing) + sum(len(u) for _, u in message_urls)
    codes = iter(await _fresh_codes(conn, wanted, code_length, new_code))
    own_codes = {key: next(codes) for key in missing}
    await repo.insert_links(
        conn,
        [
            {
                "account_id": account_id,
                "url": url,
                "url_hash": url_hash(url),
                "code": own_codes[(account_id, url)],
                "created_at": now,
            }
            for account_id, url in missing
        ],
    )
    code_rows: list[dict[str, object]] = []
    for account_id in {a for a, _ in missing}:
        hashes = {url_hash(u): u for a, u in missing if a == account_id}
        for found in (await repo.links_by_hash(conn, account_id, hashes)).values():
            records[(account_id, found.url)] = found
            if found.code == own_codes[(account_id, found.url)]:  # ours, not a concurrent one
                code_rows.append(_code_row(found.code, found, None))
    texts: list[tuple[int, str]] = []
    for message, message_url_list in message_urls:
        minted = {url: next(codes) for url in message_url_list}
        for url, code in minted.items():
            code_rows.append(
                _code_row(code, records[(message.account_id, url)], message.message_id)
            )
        texts.append((message.message_id, fill(message.text, message.slots, minted)))
    await repo.insert_codes(conn, code_rows)
    await repo.set_texts(conn, texts)


def _code_row(code: str, record: LinkRecord, message_id: int | None) -> dict[str, object]:
    return {
        "code": code,
        "link_id": record.id,
        "account_id": record.account_id,
        "message_id": message_id,
    }


async def _fresh_codes(
    conn: AsyncConnection, count: int, length: int, new_code: CodeSource
) -> list[str]:
    """``count`` distinct codes not in use yet."""
    chosen: dict[str, None] = {}  # in the order drawn
    while len(chosen) < count:
        drawn = dict.fromkeys(new_code(length) for _ in range(count - len(chosen)))
        fresh = [code for code in drawn if code not in chosen]
        taken = await repo.taken_codes(conn, fresh)
        chosen.update(dict.fromkeys(code for code in fresh if code not in taken))
    return list(chosen)


class LinkService:
    def __init__(
        self, db: Database, writer: GroupCommitWriter, clock: Clock, style: LinkStyle
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self.style = style

    async def click(self, code: str) -> str | None:
        """Count a click of ``code``; the URL to redirect to, or None for an unknown code."""
        if not is_code(code):
            return None
        async with self._db.read() as conn:  # unknown codes (guesses) never reach the writer
            found = await repo.target(conn, code)
        if found is None:
            return None
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            await repo.record_click(conn, found, day_number(now, found.tz_minutes), now)
            if found.message_id is not None:
                await repo.mark_clicked(conn, found.message_id, now)

        await self._writer.submit(op)
        return found.url

    async def report(
        self, account_id: int, tz_minutes: int, *, link_id: int | None = None, link: str = ""
    ) -> LinkReport | None:
        """The account's record by id, or by ``link``: one of its short links (the record's own
        or a recipient's, or just the code) or the original URL."""
        async with self._db.read() as conn:
            record = None
            if link_id is not None:
                record = await repo.find(conn, account_id, link_id=link_id)
            elif link:
                code = code_of(link, self.style)
                if code is not None:
                    record = await repo.find(conn, account_id, code=code)
                if record is None:
                    record = await repo.find(conn, account_id, url_hash=url_hash(link.strip()))
            if record is None:
                return None
            days = counter_days(self._clock.now(), tz_minutes)
            counts = await repo.counters(conn, record.id, days)
        return LinkReport(record, self.style.link(record.code), counts)
