"""Tariff rules."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageType
from smsgate.domain.pricing import TariffRule
from smsgate.store.schema import tariffs


async def list_rules(conn: AsyncConnection) -> Sequence[TariffRule]:
    rows = (await conn.execute(select(tariffs).order_by(tariffs.c.id))).mappings()
    return [
        TariffRule(
            price=row["price"],
            country=row["country"],
            operator=row["operator"],
            msg_type=MessageType(row["msg_type"]) if row["msg_type"] is not None else None,
            plan=row["plan"],
        )
        for row in rows
    ]


def _match(rule: TariffRule) -> tuple[ColumnElement[bool], ...]:
    """WHERE terms selecting the row with exactly these keys (NULL-safe)."""
    msg_type = int(rule.msg_type) if rule.msg_type is not None else None
    return (
        tariffs.c.plan == rule.plan,
        tariffs.c.country.is_(None) if rule.country is None else tariffs.c.country == rule.country,
        tariffs.c.operator.is_(None)
        if rule.operator is None
        else tariffs.c.operator == rule.operator,
        tariffs.c.msg_type.is_(None) if msg_type is None else tariffs.c.msg_type == msg_type,
    )


async def upsert_rule(conn: AsyncConnection, rule: TariffRule, now: float) -> None:
    """Set the price of the rule with these keys, creating it if needed."""
    updated = await conn.execute(
        update(tariffs).where(*_match(rule)).values(price=rule.price, updated_at=now)
    )
    if updated.rowcount == 0:
        await conn.execute(
            insert(tariffs).values(
                plan=rule.plan,
                country=rule.country,
                operator=rule.operator,
                msg_type=int(rule.msg_type) if rule.msg_type is not None else None,
                price=rule.price,
                updated_at=now,
            )
        )


async def delete_rule(conn: AsyncConnection, rule: TariffRule) -> bool:
    result = await conn.execute(delete(tariffs).where(*_match(rule)))
    return result.rowcount > 0
