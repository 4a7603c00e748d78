"""Migration 0011 creates exactly what schema.py declares for contacts, groups, the blacklist and
incoming messages (on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from smsgate.services.container import Services
from smsgate.store.schema import metadata

TABLES = {"contact_groups", "contacts", "contact_members", "blacklist", "incoming"}


def _table_of(diff: Any) -> str:
    """The table a diff entry of ``compare_metadata`` is about."""
    entry = diff[0] if isinstance(diff, list) else diff
    for item in entry[1:]:
        name = getattr(item, "name", None) if hasattr(item, "columns") else None
        table = getattr(item, "table", None)
        if table is not None and hasattr(table, "name"):
            return str(table.name)
        if name is not None:
            return str(name)
        if isinstance(item, str):
            return item
    return ""


async def test_migration_matches_schema(services: Services) -> None:
    def diffs(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata) if _table_of(d) in TABLES]

    async with services.db.read() as conn:
        assert await conn.run_sync(diffs) == []
