"""Fixtures of the store tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smsgate.config import Settings
from smsgate.store.db import Database


@pytest.fixture
async def sqlite_db(settings: Settings, backend: str) -> AsyncIterator[Database]:
    """The test database when it is SQLite (the writer thread, checkpoints); skipped otherwise."""
    if backend != "sqlite":
        pytest.skip("SQLite only")
    database = Database.open(settings.database)
    yield database
    await database.close()
