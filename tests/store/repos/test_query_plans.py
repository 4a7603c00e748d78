"""SQLite query plans of statements that name their messages: served by a key, not a status walk.

Without statistics, SQLite's planner would serve ``... AND status = 0`` from the status index and
walk every message in that status (all those awaiting receipts) for each batch of receipts; the
statements write the status test so that no index can serve it. This checks the plans SQLite makes
for the statements as the repositories really run them.
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

import pytest
from sqlalchemy import event

from smsgate.config import Settings
from smsgate.store.db import Database
from smsgate.store.repos import correlation
from smsgate.store.repos import dispatch as repo

STATUS_WALK = "ix_messages_status_priority_due"


async def test_receipts_and_hand_over_marks_find_messages_by_key(
    settings: Settings, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL plans from statistics")
    db = Database.open(settings.database)
    ran: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
            ran.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with db.transaction() as conn:
            await repo.find_transferred(conn, "sim", ["a", "b"])
            await repo.mark_handing_over(conn, [1, 2], "sim", 1.0)
            await repo.mark_handing_over(conn, [1, 2], "sim", 1.0, lease_until=2.0)
            await correlation.transferred_by_id(conn, {1, 2})
    finally:
        await db.close()
    assert len(ran) == 4
    path = settings.database.url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as raw:
        for statement, params in ran:
            plan = " / ".join(
                row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            )
            assert STATUS_WALK not in plan, (statement, plan)
            assert "SCAN messages" not in plan, (statement, plan)
