"""Alembic environment: runs on the connection handed in by ``smsgate.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from smsgate.store.schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `smsgate migrate`, which supplies the connection")
run_migrations(connection)
