"""Schema migrations (Alembic), run programmatically on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from smsgate.store.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary constant naming the advisory lock held while migrating PostgreSQL.
MIGRATION_LOCK = 7_342_118_001


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is already there."""

    def _upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # Nodes starting together must not migrate concurrently; the lock ends with the txn.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.transaction() as conn:
        await conn.run_sync(_upgrade)


async def pending_revisions(db: Database) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""

    def _pending(connection: Connection) -> list[str]:
        current = set(MigrationContext.configure(connection).get_current_heads())
        script = ScriptDirectory.from_config(alembic_config())
        pending = []
        for rev in script.walk_revisions():
            if rev.revision in current:
                break
            pending.append(rev.revision)
        return pending

    async with db.read() as conn:
        return await conn.run_sync(_pending)
