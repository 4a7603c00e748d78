"""Minting short-link codes inside the send transaction (services/short_links.py): a code already in
use, or drawn twice in one batch, is drawn again; one record per account and URL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.links import LinkStyle, shorten
from smsgate.services.container import Services
from smsgate.services.short_links import LinkedMessage, attach_links
from smsgate.store.schema import short_link_codes, short_links

STYLE = LinkStyle.for_base("https://sg.example", 8)


def scripted(codes: list[str]) -> Iterator[str]:
    yield from codes


async def mint(
    services: Services, account_id: int, message_id: int, url: str, codes: list[str]
) -> None:
    text, slots = shorten(f"go {url}", STYLE)
    drawn = scripted(codes)

    async def op(conn: AsyncConnection) -> None:
        linked = [LinkedMessage(message_id, account_id, text, slots)]
        await attach_links(conn, linked, 0.0, 8, lambda _length: next(drawn))

    await services.writer.submit(op)


async def test_taken_and_repeated_codes_are_drawn_again(services: Services) -> None:
    alice = await services.accounts.create("alice", "password-1", balance=Decimal(1))
    bob = await services.accounts.create("bob", "password-1", balance=Decimal(1))
    await mint(services, alice.id, 1001, "https://a.example", ["AAAAAAAA", "BBBBBBBB"])
    # AAAAAAAA is taken; CCCCCCCC comes twice; DDDDDDDD is fresh.
    await mint(
        services,
        alice.id,
        1002,
        "https://b.example",
        ["AAAAAAAA", "CCCCCCCC", "CCCCCCCC", "DDDDDDDD"],
    )
    # The same URL again for alice shares her record; for bob it is a record of his own.
    await mint(services, alice.id, 1003, "https://a.example", ["EEEEEEEE"])
    await mint(services, bob.id, 1004, "https://a.example", ["FFFFFFFF", "GGGGGGGG"])
    async with services.db.read() as conn:
        codes = {
            row.code: (row.account_id, row.message_id)
            for row in await conn.execute(select(short_link_codes))
        }
        records = [
            (row.account_id, row.url, row.code)
            for row in await conn.execute(select(short_links).order_by(short_links.c.id))
        ]
    assert len(codes) == 7
    assert {code: codes[code][1] for code in codes} == {
        "AAAAAAAA": None,
        "BBBBBBBB": 1001,
        "CCCCCCCC": None,
        "DDDDDDDD": 1002,
        "EEEEEEEE": 1003,
        "FFFFFFFF": None,
        "GGGGGGGG": 1004,
    }
    assert records == [
        (alice.id, "https://a.example", "AAAAAAAA"),
        (alice.id, "https://b.example", "CCCCCCCC"),
        (bob.id, "https://a.example", "FFFFFFFF"),
    ]
