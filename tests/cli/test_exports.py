"""``smsgate export …`` run as a real process (issue 6), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from smsgate.services.container import Services
from tests.support.exports import store_many
from tests.support.gateway import gateway_env
from tests.test_cli import smsgate

# Each test runs the real `smsgate` command in processes of its own: seconds, not milliseconds.
pytestmark = pytest.mark.timeout(120)

PERIOD = ["--start", "01.11.2025", "--end", "30.11.2025"]


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return gateway_env(database_url, tmp_path, SMSGATE_EXPORTS_BATCH_ROWS="100")


async def test_create_wait_list_get_and_cancel(
    services: Services, env: dict[str, str], tmp_path: Path
) -> None:
    alice = await services.accounts.create("alice", "correct-horse-1")
    await store_many(services, alice.id, 750)

    created = smsgate(env, "export", "create", "alice", *PERIOD, "--name", "Ноябрь", "--wait")
    assert "export task 1 queued" in created.stdout
    assert "export 1" in created.stdout  # the progress bar's label

    listed = smsgate(env, "export", "list", "alice").stdout.splitlines()
    assert listed[0] == "id\tstatus\tcreated\trows\tfile\tname"
    assert listed[1].split("\t") == [
        "1",
        "done",
        listed[1].split("\t")[2],
        "750",
        "export_1.csv",
        "Ноябрь",
    ]

    target = tmp_path / "out.csv"
    got = smsgate(env, "export", "get", "alice", "1", "--output", str(target))
    assert got.stdout.strip() == f"{target} (750 rows, utf-8)"
    with target.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert len(rows) == 751 and rows[1][1] == "1"

    # get follows (and runs) a task nobody has run yet, in the charset it was made in.
    smsgate(env, "export", "create", "alice", *PERIOD, "--charset", "windows-1251")
    second = tmp_path / "second.csv"
    got = smsgate(env, "export", "get", "alice", "2", "-o", str(second))
    assert got.stdout.strip().endswith("(750 rows, windows-1251)")
    assert second.read_bytes().decode("windows-1251") == target.read_bytes().decode("utf-8")
    assert "Доставлено".encode("windows-1251") in second.read_bytes()

    smsgate(env, "export", "create", "alice", *PERIOD)
    assert smsgate(env, "export", "cancel", "alice", "3").stdout.strip() == (
        "export task 3 cancelled"
    )
    refused = smsgate(env, "export", "get", "alice", "3", ok=False)
    assert refused.returncode == 1 and "task 3 is cancelled" in refused.stderr
    unknown = smsgate(env, "export", "get", "alice", "99", ok=False)
    assert "no export task 99 of alice" in unknown.stderr
    bad = smsgate(env, "export", "create", "alice", "--start", "x", "--end", "y", ok=False)
    assert bad.returncode == 2 and "invalid date" in bad.stderr
