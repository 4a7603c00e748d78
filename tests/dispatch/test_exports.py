"""The export runner (issue 6): batched reads, the CSV, leases, cancellation, concurrency, retention."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.app import Gateway
from smsgate.config import Settings
from smsgate.dispatch.exports import ExportRunner
from smsgate.domain.codes import ExportStatus, MessageType
from smsgate.domain.exports import CSV_COLUMNS, ExportFilters
from smsgate.errors import RequestError
from smsgate.services.container import Services
from smsgate.services.exports import partial_path, stored_path
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.exports import ExportTask
from smsgate.store.repos.messages import NewMessage
from tests.conftest import make_settings
from tests.support.clock import ManualClock
from tests.support.exports import START, TEMPLATE, store, store_many

DAY = 86400.0
PERIOD = ExportFilters(period_start=START - 30 * DAY, period_end=START)


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    return await services.accounts.create("alice", "correct-horse-1")


@pytest.fixture
async def bob(services: Services) -> AccountRecord:
    return await services.accounts.create("bob", "correct-horse-2")


def runner(services: Services, node: str = "node-a", **overrides: Any) -> ExportRunner:
    settings = replace(services.settings.exports, **overrides)
    return ExportRunner(services.db, services.writer, services.clock, settings, node_id=node)


async def add(
    services: Services,
    account: AccountRecord,
    filters: ExportFilters = PERIOD,
    charset: str = "utf-8",
) -> ExportTask:
    return await services.exports.add(account.id, "march", filters, charset)


async def current(services: Services, task: ExportTask) -> ExportTask:
    found = await services.exports.get(task.account_id, task.id)
    assert found is not None
    return found


async def read_csv(services: Services, task: ExportTask, charset: str = "utf-8") -> list[list[str]]:
    """The rows of the task's file (the run that finished it)."""
    task = await current(services, task)
    path = stored_path(Path(services.settings.exports.dir), task.id, task.attempts)
    with path.open(encoding=charset, newline="") as file:
        return list(csv.reader(file))


def export_files(services: Services) -> set[str]:
    directory = Path(services.settings.exports.dir)
    return {path.name for path in directory.iterdir()} if directory.exists() else set()


@contextmanager
def message_queries(services: Services) -> Iterator[list[str]]:
    """Every statement that reads the messages table, as the driver saw it."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if "FROM messages" in statement:
            seen.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# --- the export itself ------------------------------------------------------------------------


async def test_export_reads_in_bounded_batches_in_id_order(
    services: Services, alice: AccountRecord, bob: AccountRecord
) -> None:
    await store_many(services, bob.id, 400)
    ids = await store_many(services, alice.id, 3000)
    await store_many(services, bob.id, 400)  # another account's messages around and after
    task = await add(services, alice)
    with message_queries(services) as queries:
        (outcome,) = await runner(services, batch_rows=500).run_until_idle()
    assert (outcome.status, outcome.rows, outcome.batches, outcome.largest_batch) == (
        ExportStatus.DONE,
        3000,
        6,
        500,
    )
    # One query for the id range and count, then one per batch: never the whole period at once.
    batch_queries = [q for q in queries if "LIMIT" in q]
    assert len(batch_queries) == 6 and len(queries) == 7
    rows = await read_csv(services, task)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [int(row[0]) for row in rows[1:]] == ids
    done = await current(services, task)
    assert done.status == ExportStatus.DONE
    assert (done.file_name, done.rows_expected, done.rows_written) == ("export_1.csv", 3000, 3000)
    assert done.runner == "node-a" and done.started_at == services.clock.now()


async def test_an_account_sparse_among_anothers_messages(
    services: Services, alice: AccountRecord, bob: AccountRecord
) -> None:
    """Every 25th message is alice's: the reads widen their window and still miss none."""
    rows = [
        with_account(TEMPLATE, alice if n % 25 == 0 else bob, client_id=str(n)) for n in range(2500)
    ]
    ids = await store(services, rows)
    wanted = [message_id for n, message_id in enumerate(ids) if n % 25 == 0]
    task = await add(services, alice)
    (outcome,) = await runner(services, batch_rows=20).run_until_idle()
    assert outcome.rows == len(wanted) == 100
    assert [int(row[0]) for row in (await read_csv(services, task))[1:]] == wanted
    assert outcome.largest_batch <= 20


def with_account(template: NewMessage, account: AccountRecord, **changes: Any) -> NewMessage:
    return replace(template, account_id=account.id, **changes)


async def test_every_column_in_the_accounts_zone(services: Services, alice: AccountRecord) -> None:
    async def zone(conn: AsyncConnection) -> None:
        await account_repo.update_account(
            conn, alice.id, bump_auth=False, now=services.clock.now(), tz_minutes=60
        )

    await services.writer.submit(zone)
    message = replace(
        TEMPLATE,
        account_id=alice.id,
        client_id="order-7",
        comment="note",
        status=20,
        err=1,
        parts=2,
        cost=Decimal("3.3050"),
        created_at=START - 3600.7,
        updated_at=START - 60,
    )
    (message_id,) = await store(services, [message])
    task = await add(services, alice)
    await runner(services).run_until_idle()
    assert (await read_csv(services, task))[1] == [
        str(message_id),
        "order-7",
        "79161234567",
        "Shop",
        "Hello",
        "note",
        "0",
        "24.11.2025 18:59:59",  # 14:59:59.3 UTC, fraction dropped, in Moscow + 1 h (UTC+4)
        "24.11.2025 19:59:00",
        "20",
        "Невозможно доставить",
        "1",
        "2",
        "3.31",  # half-up
        "RU",
        "MTS",
        "Moscow",
        "25001",
    ]


AWKWARD = [
    ('Привет, "мир"!\nВторая строка\r\nтретья', 'комментарий, "в кавычках"'),
    ("plain", None),
    (",,,", "\n"),
    ('"', "Ёжик"),
]


@pytest.mark.parametrize("charset", ["utf-8", "windows-1251", "koi8-r"])
async def test_csv_round_trips_cyrillic_commas_quotes_and_line_breaks(
    services: Services, alice: AccountRecord, charset: str
) -> None:
    await store(
        services,
        [replace(TEMPLATE, account_id=alice.id, text=t, comment=c) for t, c in AWKWARD],
    )
    task = await add(services, alice, charset=charset)
    await runner(services).run_until_idle()
    path = stored_path(Path(services.settings.exports.dir), task.id, 1)
    raw = path.read_bytes()
    assert raw.startswith(b"int_id,id,phone,") and raw.endswith(b"\r\n")
    assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM"
    rows = list(csv.reader(io.StringIO(raw.decode(charset), newline="")))
    assert [(row[4], row[5]) for row in rows[1:]] == [(t, c or "") for t, c in AWKWARD]


@pytest.mark.parametrize("charset", ["windows-1251", "koi8-r"])
async def test_characters_the_charset_cannot_hold_become_question_marks(
    services: Services, alice: AccountRecord, charset: str
) -> None:
    await store(services, [replace(TEMPLATE, account_id=alice.id, text="ok 👍 ✓ Привет")])
    task = await add(services, alice, charset=charset)
    (outcome,) = await runner(services).run_until_idle()
    assert outcome.status == ExportStatus.DONE
    assert (await read_csv(services, task, charset))[1][4] == "ok ? ? Привет"


async def test_filters_select_the_period_recipients_statuses_and_types(
    services: Services, alice: AccountRecord
) -> None:
    base = replace(TEMPLATE, account_id=alice.id)
    stored_ids = await store(
        services,
        [
            replace(base, client_id="before", created_at=START - 100.001),
            replace(base, client_id="first", created_at=START - 100),
            replace(base, client_id="other-phone", phone="79160000001", created_at=START - 50),
            replace(base, client_id="failed", status=20, created_at=START - 40),
            replace(base, client_id="hlr", msg_type=int(MessageType.HLR), created_at=START - 30),
            replace(base, client_id="last", created_at=START - 0.001),
            replace(base, client_id="at-end", created_at=START),
        ],
    )

    async def delete(conn: AsyncConnection) -> None:
        await message_repo.mark_deleted(conn, stored_ids[-2], START)  # "last": deleted

    await services.writer.submit(delete)
    window = ExportFilters(period_start=START - 100, period_end=START)
    narrow = replace(window, phones=("79161234567",), statuses=(1,), types=(0,))
    wide, filtered = await add(services, alice, window), await add(services, alice, narrow)
    await runner(services).run_until_idle()
    assert [row[1] for row in (await read_csv(services, wide))[1:]] == [
        "first",
        "other-phone",
        "failed",
        "hlr",
    ]
    assert [row[1] for row in (await read_csv(services, filtered))[1:]] == ["first"]


async def test_an_empty_export_is_a_header(services: Services, alice: AccountRecord) -> None:
    task = await add(services, alice)
    (outcome,) = await runner(services).run_until_idle()
    assert (outcome.status, outcome.rows, outcome.batches) == (ExportStatus.DONE, 0, 0)
    assert await read_csv(services, task) == [list(CSV_COLUMNS)]


# --- scheduling --------------------------------------------------------------------------------


async def test_one_running_task_per_account_accounts_side_by_side(
    services: Services, alice: AccountRecord, bob: AccountRecord
) -> None:
    first, second = await add(services, alice), await add(services, alice)
    third = await add(services, bob)
    node = runner(services, workers=4)
    started = await node.claim(limit=4)
    assert [task.id for task in started] == [first.id, third.id]
    # Another node cannot start alice's second task while her first runs under a live lease.
    assert await runner(services, "node-b").claim(limit=4) == []
    for task in started:
        await node.execute(task)
    assert [task.id for task in await node.claim(limit=4)] == [second.id]


async def test_step_starts_no_more_runs_than_workers(
    services: Services, alice: AccountRecord, bob: AccountRecord
) -> None:
    carol = await services.accounts.create("carol", "correct-horse-3")
    for account in (alice, bob, carol):
        await add(services, account)
    node = runner(services, workers=2)
    runs = await node.step()
    assert len(runs) == 2
    assert await node.step() == []  # both workers busy until their runs end
    await asyncio.gather(*runs)
    (last,) = await node.step()
    assert (await last).status == ExportStatus.DONE


async def test_the_task_of_a_dead_runner_is_taken_over_and_finished_once(
    services: Services, clock: ManualClock, alice: AccountRecord
) -> None:
    await store_many(services, alice.id, 50)
    task = await add(services, alice)
    dead, alive = runner(services, "node-a"), runner(services, "node-b")
    (stale,) = await dead.claim(limit=1)
    assert await alive.claim(limit=1) == []  # the lease still holds
    await clock.advance(services.settings.exports.lease + 1)
    (taken,) = await alive.claim(limit=1)
    assert (taken.id, taken.attempts, taken.runner) == (task.id, 2, "node-b")
    assert (await alive.execute(taken)).status == ExportStatus.DONE
    # The first run wakes up late: it may not overwrite, finish or fail the task.
    late = await dead.execute(stale)
    assert (late.status, late.rows) == (ExportStatus.DONE, 0)
    done = await current(services, task)
    assert (done.attempts, done.runner, done.rows_written) == (2, "node-b", 50)
    assert export_files(services) == {f"{task.id}-2.csv"}
    assert len(await read_csv(services, done)) == 51


async def test_a_run_that_lost_its_lease_stops_before_writing(
    services: Services, clock: ManualClock, alice: AccountRecord
) -> None:
    task = await add(services, alice)
    dead, alive = runner(services, "node-a"), runner(services, "node-b")
    (stale,) = await dead.claim(limit=1)
    await clock.advance(services.settings.exports.lease + 1)
    (taken,) = await alive.claim(limit=1)
    outcome = await dead.execute(stale)
    assert outcome.status == ExportStatus.RUNNING  # the task is node-b's now
    assert export_files(services) == set()
    assert (await alive.execute(taken)).status == ExportStatus.DONE
    assert (await current(services, task)).status == ExportStatus.DONE


async def test_a_task_interrupted_max_attempts_times_fails(
    services: Services, clock: ManualClock, alice: AccountRecord
) -> None:
    task = await add(services, alice)
    node = runner(services, max_attempts=2)
    for _ in range(2):
        assert len(await node.claim(limit=1)) == 1
        await clock.advance(services.settings.exports.lease + 1)
    assert await node.claim(limit=1) == []
    failed = await current(services, task)
    assert failed.status == ExportStatus.FAILED
    assert failed.error == "gave up after 2 interrupted runs"


async def test_cancelling_a_running_task_stops_it(services: Services, alice: AccountRecord) -> None:
    await store_many(services, alice.id, 20)
    task = await add(services, alice)
    node = runner(services)
    (claimed,) = await node.claim(limit=1)
    await services.exports.cancel(alice.id, task.id)
    outcome = await node.execute(claimed)
    assert (outcome.status, outcome.rows) == (ExportStatus.CANCELLED, 0)
    assert export_files(services) == set()
    cancelled = await current(services, task)
    assert cancelled.status == ExportStatus.CANCELLED and cancelled.file_name is None
    assert await node.claim(limit=1) == []


async def test_a_waiting_task_can_be_cancelled_a_done_one_not(
    services: Services, alice: AccountRecord
) -> None:
    waiting = await add(services, alice)
    await services.exports.cancel(alice.id, waiting.id)
    assert await runner(services).run_until_idle() == []
    done = await add(services, alice)
    await runner(services).run_until_idle()
    for task_id, code in ((waiting.id, 1), (done.id, 1), (999, 5)):
        with pytest.raises(RequestError) as refused:
            await services.exports.cancel(alice.id, task_id)
        assert refused.value.code == code


async def test_more_than_max_queued_waiting_tasks_is_error_9(
    services: Services, alice: AccountRecord, bob: AccountRecord
) -> None:
    for _ in range(services.settings.exports.max_queued):
        await add(services, alice)
    with pytest.raises(RequestError) as refused:
        await add(services, alice)
    assert refused.value.code == 9
    await add(services, bob)  # a limit per account


# --- files -------------------------------------------------------------------------------------


async def test_files_are_removed_after_retention_and_the_task_stays(
    services: Services, clock: ManualClock, alice: AccountRecord
) -> None:
    task = await add(services, alice)
    node = runner(services)
    await node.run_until_idle()
    opened = await services.exports.open_file(alice.id, task_id=task.id)
    opened.close()
    await clock.advance(services.settings.exports.retention_days * DAY - 1)
    assert await node.sweep() == 0
    await clock.advance(2)
    assert await node.sweep() == 1
    assert export_files(services) == set()
    expired = await current(services, task)
    assert expired.status == ExportStatus.DONE and expired.file_removed_at == clock.now()
    for lookup in ({"task_id": task.id}, {"name": "export_1.csv"}):
        with pytest.raises(RequestError) as refused:
            await services.exports.open_file(alice.id, **lookup)
        assert refused.value.code == 5


async def test_an_open_download_survives_the_removal_of_its_file(
    services: Services, clock: ManualClock, alice: AccountRecord
) -> None:
    await store_many(services, alice.id, 10)
    task = await add(services, alice)
    node = runner(services)
    await node.run_until_idle()
    opened = await services.exports.open_file(alice.id, task_id=task.id)
    await clock.advance(services.settings.exports.retention_days * DAY + 1)
    await node.sweep()
    try:
        assert len(opened.stream.read().split(b"\r\n")) == 12  # header, 10 rows, ""
    finally:
        opened.close()


async def test_sweep_removes_files_of_runs_that_are_no_longer_current(
    services: Services, alice: AccountRecord
) -> None:
    kept = await add(services, alice)
    node = runner(services)
    await node.run_until_idle()
    directory = Path(services.settings.exports.dir)
    stray = [stored_path(directory, kept.id, 7), partial_path(directory, 99, 1)]
    for path in stray:
        path.write_text("left by a run that died")
    (directory / "notes.txt").write_text("not ours")
    assert await node.sweep() == 2
    assert export_files(services) == {f"{kept.id}-1.csv", "notes.txt"}


async def test_a_broken_export_directory_fails_the_task(
    services: Services, alice: AccountRecord, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    task = await add(services, alice)
    (outcome,) = await runner(services, dir=str(blocker / "exports")).run_until_idle()
    assert outcome.status == ExportStatus.FAILED
    failed = await current(services, task)
    assert failed.status == ExportStatus.FAILED and failed.error
    assert "NotADirectoryError" in failed.error


# --- in the running gateway --------------------------------------------------------------------


async def test_the_gateway_runs_export_tasks_over_a_real_socket(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    settings = make_settings(settings.database.url, tmp_path, SMSGATE_HTTP_PORT="0")
    async with Gateway(settings, clock, only=frozenset({"http"})) as gateway:
        services = gateway.services
        assert services is not None
        alice = await services.accounts.create("alice", "correct-horse-1")
        await store_many(services, alice.id, 1200)
        base = f"http://127.0.0.1:{gateway.ports['http']}/sys/downloads.php"
        auth = {"login": "alice", "psw": "correct-horse-1"}
        async with httpx.AsyncClient() as client:
            added = await client.get(
                base,
                params=auth
                | {"add": "1", "name": "m", "start": "1.11.2025", "fmt": "3"}
                | {"end": "30.11.2025"},
            )
            task_id = added.json()["id"]
            await clock.advance(services.settings.exports.poll_interval)
            # The runner works on threads and the database; wait for it commit by commit.
            for _ in range(1000):
                task = await services.exports.get(alice.id, task_id)
                if task is not None and task.status == ExportStatus.DONE:
                    break
                await services.writer.submit(_nothing)
            else:
                pytest.fail("the gateway did not run the task")
            async with client.stream(
                "GET", base, params=auth | {"get_file": "1", "id": str(task_id)}
            ) as response:
                assert response.headers["content-disposition"] == (
                    f"attachment; filename=export_{task_id}.csv"
                )
                body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert body.count(b"\r\n") == 1201


async def _nothing(conn: AsyncConnection) -> None:
    return None
