"""schema.py and the Alembic migrations describe the same database (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from smsgate.services.container import Services
from smsgate.store.schema import metadata


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_database_matches_schema(services: Services) -> None:
    async with services.db.read() as conn:
        differences = await conn.run_sync(_differences)
    assert differences == []
