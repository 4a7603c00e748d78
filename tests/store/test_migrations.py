"""The migrations build exactly the schema the ``store.schema`` package describes, on both back ends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from smsgate.services.container import Services
from smsgate.store.migrate import alembic_config
from smsgate.store.schema import metadata


async def test_migrated_database_matches_schema_py(services: Services) -> None:
    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with services.db.read() as conn:
        assert await conn.run_sync(differences) == []


def test_revisions_form_one_line() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert len(list(script.walk_revisions())) == len({r.revision for r in script.walk_revisions()})
