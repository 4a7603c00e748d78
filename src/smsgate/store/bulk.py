"""Many-row INSERTs on SQLite without SQLAlchemy's per-row statement machinery.

A 1,000-number send stores 1,000 message rows. Through ``conn.execute(insert(...).returning(...),
rows)`` SQLAlchemy builds every row's parameters through the compiled statement and, because SQLite
does not promise the order of ``RETURNING`` rows, runs one INSERT per row to pair ids with rows:
about 0.3 ms of CPU per row, most of the cost of a bulk send. Here the column types' own bind
processors are applied in a tight loop and the rows go to the driver's ``executemany`` in one call.

The ids come from ``last_insert_rowid()``: the rows were inserted one after another by this
connection inside a write transaction (nobody else can insert meanwhile), and SQLite gives a new
row of an ``INTEGER PRIMARY KEY`` table the largest rowid in use plus one, so the ids are the
consecutive run that ends there. (Only a table whose rowid had reached 2**63 - 1 would get random
ones; ``insert_rows`` refuses to guess when the count does not add up.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any]


@lru_cache(maxsize=64)
def _plan(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[tuple[int, Processor], ...]]:
    """The statement, and the positions of the values that need converting with their type's
    bind processor (money to units, booleans to integers …)."""
    columns = [table.c[name] for name in names]
    quote = dialect.identifier_preparer.quote
    # Table and column names come from our schema (and are quoted); the values are bound.
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    return sql, tuple((i, p) for i, p in enumerate(processors) if p is not None)


async def insert_rows(
    conn: AsyncConnection, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert ``rows`` (values in the order of ``names``) into ``table`` on SQLite, inside the
    caller's write transaction; the new rows' ids in the same order."""
    if not rows:
        return []
    dialect = conn.dialect
    if dialect.name != "sqlite":
        raise RuntimeError("insert_rows is for SQLite; use insert().returning() elsewhere")
    sql, processors = _plan(table, tuple(names), dialect)
    converted: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for position, process in processors:
            value = values[position]
            if value is not None:
                values[position] = process(value)
        converted.append(tuple(values))
    if len(converted) == 1:  # a single send: the cursor knows the id, no second statement
        result = await conn.exec_driver_sql(sql, converted[0])
        if result.lastrowid is not None:
            return [int(result.lastrowid)]
    else:
        await conn.exec_driver_sql(sql, converted)
    last = int((await conn.exec_driver_sql("SELECT last_insert_rowid()")).scalar_one())
    first = last - len(rows) + 1
    return list(range(first, last + 1))
