"""Kill -9 the gateway in the middle of an export, then let another runner take it over (issue 6).

The task must end done exactly once, by the second run, with every message in its file; the killed
run's partial file never becomes the task's file.
"""

from __future__ import annotations

import csv
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from smsgate.config import DatabaseSettings, normalise_database_url
from smsgate.domain.codes import ExportStatus
from smsgate.store.db import Database
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import exports as export_repo
from smsgate.store.repos import messages as message_repo
from tests.support.exports import TEMPLATE
from tests.support.gateway import cli, gateway_env, running_gateway

PASSWORD = "crash-test-1"
MESSAGES = 60_000
CHUNK = 5000


async def _store_messages(db: Database, account_id: int) -> None:
    for offset in range(0, MESSAGES, CHUNK):
        rows = [
            replace(TEMPLATE, account_id=account_id, client_id=str(n), text=f'm{n}, "q"\nx')
            for n in range(offset, offset + CHUNK)
        ]
        async with db.transaction() as conn:
            await message_repo.insert_many(conn, rows)


async def _task(db: Database, account_id: int) -> export_repo.ExportTask:
    async with db.read() as conn:
        task = await export_repo.get_task(conn, account_id, 1)
    assert task is not None
    return task


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_kill_during_an_export_then_another_runner_takes_it_over(
    database_url: str, tmp_path: Path
) -> None:
    env = gateway_env(
        database_url,
        tmp_path,
        SMSGATE_NODE_ID="gateway",
        SMSGATE_EXPORTS_BATCH_ROWS="50",  # slow enough that progress shows before the end
        SMSGATE_EXPORTS_LEASE="1.5s",  # progress renewed every 0.5 s
        SMSGATE_EXPORTS_POLL_INTERVAL="0.1s",
    )
    cli(env, "account", "create", "alice", "--password", PASSWORD)
    db = Database.open(DatabaseSettings(url=normalise_database_url(database_url)), pooled=False)
    try:
        async with db.read() as conn:
            account = await account_repo.get_by_login(conn, "alice")
        assert account is not None
        await _store_messages(db, account.id)
        cli(env, "export", "create", "alice", "--start", "01.11.2025", "--end", "30.11.2025")
        with running_gateway(env) as (server, _port):
            # Wait (on real reads of the store, no sleeping) until the gateway's run is under way.
            while (task := await _task(db, account.id)).rows_written == 0:
                assert task.status in (ExportStatus.WAITING, ExportStatus.RUNNING)
            server.send_signal(signal.SIGKILL)
        killed = await _task(db, account.id)
        assert (killed.status, killed.attempts, killed.runner) == (
            ExportStatus.RUNNING,
            1,
            "gateway",
        )
        assert 0 < killed.rows_written < MESSAGES

        # Another runner (here the CLI, following the task) takes it over once the lease ran out.
        target = tmp_path / "export.csv"
        cli({**env, "SMSGATE_NODE_ID": "cli"}, "export", "get", "alice", "1", "-o", str(target))
        done = await _task(db, account.id)
    finally:
        await db.close()
    assert (done.status, done.attempts, done.runner, done.rows_written) == (
        ExportStatus.DONE,
        2,
        "cli",
        MESSAGES,
    )
    with target.open(encoding="utf-8", newline="") as file:
        records = list(csv.reader(file))[1:]
    assert [record[1] for record in records] == [str(n) for n in range(MESSAGES)]
    exports = Path(env["SMSGATE_DATA_DIR"]) / "exports"
    assert sorted(path.name for path in exports.glob("*.csv")) == ["1-2.csv"]
