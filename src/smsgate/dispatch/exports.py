"""The export runner: runs waiting export tasks (downloads.php, issue 6) and expires their files.

Every ``exports.poll_interval`` the runner claims waiting tasks under a lease (``store/repos/exports``:
one running task per account, tasks of different accounts side by side, up to ``exports.workers``
on this node). A run reads the matching messages in id order in batches of ``exports.batch_rows``,
writes them to a partial CSV file in a worker thread, moves the file into place and only then
records the task as done — on the condition that the run is still the task's current one.

Crash safety: a runner that dies leaves its task running with a lease that runs out; the next claim
takes the task over as a new run (a new ``attempts`` number, a file of its own). The dead run's
progress writes and its result are refused from then on, so a task is never finished twice, and a
task interrupted ``exports.max_attempts`` times is failed rather than retried forever. The lease is
renewed with the progress about every ``PROGRESS_INTERVAL_S`` (more often with a short lease); that
is also when a run notices it was cancelled. A run stopped with its gateway keeps its lease until it
runs out; then the task is taken over.

Files are removed ``exports.retention_days`` after their task finished (the task stays, status 2,
and downloads answer error 5); partial and finished files of runs that are no longer current are
removed by the same sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.config import ExportSettings
from smsgate.dispatch.export_file import CsvExportFile
from smsgate.domain.codes import ExportStatus
from smsgate.domain.exports import export_file_name
from smsgate.errors import StorageError
from smsgate.services.exports import partial_path, stored_path
from smsgate.store.db import Database
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import exports as repo
from smsgate.store.repos.exports import ExportTask
from smsgate.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 1.0
SWEEP_INTERVAL_S = 60.0
MAX_WINDOW_FACTOR = 8
DAY_S = 86400.0
_RUN_FILE = re.compile(r"^\.?(\d+)-(\d+)\.csv(\.part)?$")


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How one run ended. ``status`` is RUNNING when the run stopped because it was no longer the
    task's current run (its lease ran out and another runner took the task over)."""

    task_id: int
    status: ExportStatus
    rows: int
    batches: int
    largest_batch: int


class _RunLost(Exception):
    """The run is no longer current: cancelled, or taken over after its lease ran out."""


class ExportRunner:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        clock: Clock,
        settings: ExportSettings,
        *,
        node_id: str,
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._settings = settings
        self._node_id = node_id
        self._directory = Path(settings.dir)
        self._last_sweep: float | None = None
        self._running: set[asyncio.Task[RunOutcome]] = set()
        # Renew well before the lease runs out, and often enough for a progress bar.
        self._renew_every = min(PROGRESS_INTERVAL_S, settings.lease / 3)

    async def run(self) -> None:
        """Forever: a :meth:`step` every ``exports.poll_interval``; runs in progress are cancelled
        when this is (their leases run out and another runner takes the tasks over)."""
        try:
            while True:
                try:
                    await self.step()
                except Exception:  # a database hiccup must not stop the exports for good
                    log.exception("export runner step failed")
                await self._clock.sleep(self._settings.poll_interval)
        finally:
            for started in self._running:
                started.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    async def step(self) -> list[asyncio.Task[RunOutcome]]:
        """Sweep expired files when due, then start as many tasks as this node has room for
        (``exports.workers``); the runs started, each in a task this runner owns."""
        await self._sweep_if_due()
        free = self._settings.workers - len(self._running)
        started: list[asyncio.Task[RunOutcome]] = []
        for task in await self.claim(limit=free) if free > 0 else []:
            run = asyncio.create_task(self.execute(task), name=f"export-{task.id}")
            self._running.add(run)
            run.add_done_callback(self._running.discard)
            started.append(run)
        return started

    async def run_until_idle(self) -> list[RunOutcome]:
        """Claim and run tasks until none can be claimed (tests, the CLI); the outcomes."""
        outcomes: list[RunOutcome] = []
        while claimed := await self.claim(limit=self._settings.workers):
            outcomes += await asyncio.gather(*(self.execute(task) for task in claimed))
        return outcomes

    async def run_task(self, task_id: int) -> RunOutcome | None:
        """Run one task here if it can be claimed now (``smsgate export … --wait``)."""
        claimed = await self.claim(limit=1, only_id=task_id)
        return await self.execute(claimed[0]) if claimed else None

    async def claim(self, *, limit: int, only_id: int | None = None) -> list[ExportTask]:
        """Start up to ``limit`` tasks under a lease held by this node."""
        now = self._clock.now()
        settings = self._settings

        async def op(conn: AsyncConnection) -> tuple[list[ExportTask], list[ExportTask]]:
            return await repo.claim(
                conn,
                now=now,
                lease_until=now + settings.lease,
                runner=self._node_id,
                limit=limit,
                max_attempts=settings.max_attempts,
                dialect=self._db.dialect,
                only_id=only_id,
            )

        running, given_up = await self._writer.submit(op)
        for task in given_up:
            log.warning("export task given up", extra={"task": task.id, "error": task.error})
        return running

    async def execute(self, task: ExportTask) -> RunOutcome:
        """Run a claimed task to its end; never raises but for cancellation."""
        attempt = task.attempts
        try:
            return await self._export(task)
        except _RunLost:
            status = await self._status_now(task)
            log.info("export run stopped", extra={"task": task.id, "status": int(status)})
            return RunOutcome(task.id, status, 0, 0, 0)
        except StorageError:
            # The lease runs out and the task is taken over (or given up after max_attempts).
            log.exception("export run lost the database", extra={"task": task.id})
            return RunOutcome(task.id, ExportStatus.RUNNING, 0, 0, 0)
        except Exception as exc:  # a broken file system, an unexpected row: fail the task
            log.exception("export run failed", extra={"task": task.id})
            now = self._clock.now()
            error = f"{type(exc).__name__}: {exc}"[:500]

            async def op(conn: AsyncConnection) -> bool:
                return await repo.fail(conn, task.id, attempt, now=now, error=error)

            with contextlib.suppress(StorageError):
                await self._writer.submit(op)
            return RunOutcome(task.id, ExportStatus.FAILED, 0, 0, 0)

    async def _export(self, task: ExportTask) -> RunOutcome:
        tz_minutes = await self._tz_minutes(task.account_id)
        async with self._db.read() as conn:
            bounds = await repo.id_range(conn, task.account_id, task.filters)
        low, high, expected = bounds if bounds is not None else (1, 0, 0)
        await self._renew(task, 0, expected)
        file = CsvExportFile(
            partial_path(self._directory, task.id, task.attempts),
            stored_path(self._directory, task.id, task.attempts),
            task.charset,
            tz_minutes,
        )
        rows = batches = largest = 0
        try:
            await asyncio.to_thread(file.open)
            last_progress = self._clock.monotonic()
            async with contextlib.aclosing(self._batches(task, low, high)) as stream:
                async for batch in stream:
                    await asyncio.to_thread(file.write, batch)
                    rows, batches = rows + len(batch), batches + 1
                    largest = max(largest, len(batch))
                    if self._clock.monotonic() - last_progress >= self._renew_every:
                        await self._renew(task, rows)
                        last_progress = self._clock.monotonic()
            await self._renew(task, rows)
            await asyncio.to_thread(file.publish)
        except BaseException:
            await asyncio.to_thread(file.abort)
            raise
        await self._finish(task, rows, file.final)
        return RunOutcome(task.id, ExportStatus.DONE, rows, batches, largest)

    async def _batches(
        self, task: ExportTask, low: int, high: int
    ) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
        """The matching messages with ids in [low, high], in id order, at most
        ``exports.batch_rows`` at a time.

        Each query walks a window of the primary key (``repo.message_batch``): a plan that stays
        an index range scan on both back ends whatever the statistics say. The window starts at
        one batch of ids and widens (up to eight) while the account's messages are sparse among
        others'. The next query runs while the caller writes the current batch: at most two
        batches are in memory, and reading overlaps with formatting.
        """
        if low > high:
            return
        limit, filters = self._settings.batch_rows, task.filters
        widest = limit * MAX_WINDOW_FACTOR

        async def read(after_id: int, upto_id: int) -> Sequence[Sequence[Any]]:
            async with self._db.read() as conn:
                return await repo.message_batch(
                    conn, task.account_id, filters, after_id=after_id, upto_id=upto_id, limit=limit
                )

        after_id, window = low - 1, limit
        pending: asyncio.Task[Sequence[Sequence[Any]]] | None = asyncio.create_task(
            read(after_id, min(after_id + window, high))
        )
        try:
            while pending is not None:
                batch = await pending
                pending = None
                upto_id = min(after_id + window, high)
                if len(batch) == limit:
                    after_id = _message_id(batch[-1])  # the window may hold more
                else:
                    after_id = upto_id
                    if len(batch) < limit // 2:
                        window = min(window * 2, widest)
                if after_id < high:
                    pending = asyncio.create_task(read(after_id, min(after_id + window, high)))
                if batch:
                    yield batch
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)

    async def _finish(self, task: ExportTask, rows: int, final: Path) -> None:
        now = self._clock.now()
        name = export_file_name(task.id)

        async def op(conn: AsyncConnection) -> bool:
            return await repo.finish(
                conn, task.id, task.attempts, now=now, file_name=name, rows=rows
            )

        if not await self._writer.submit(op):
            await asyncio.to_thread(_remove, final)
            raise _RunLost
        log.info("export done", extra={"task": task.id, "rows": rows})

    async def _renew(self, task: ExportTask, rows: int, expected: int | None = None) -> None:
        lease_until = self._clock.now() + self._settings.lease

        async def op(conn: AsyncConnection) -> bool:
            return await repo.renew(
                conn,
                task.id,
                task.attempts,
                lease_until=lease_until,
                rows_written=rows,
                rows_expected=expected,
            )

        if not await self._writer.submit(op):
            raise _RunLost

    async def _tz_minutes(self, account_id: int) -> int:
        async with self._db.read() as conn:
            account = await account_repo.get_by_id(conn, account_id)
        return account.tz_minutes if account is not None else 0

    async def _status_now(self, task: ExportTask) -> ExportStatus:
        async with self._db.read() as conn:
            current = await repo.get_task(conn, task.account_id, task.id)
        return ExportStatus.of(current.status) if current is not None else ExportStatus.CANCELLED

    # --- retention ------------------------------------------------------------------------------

    async def _sweep_if_due(self) -> None:
        now = self._clock.monotonic()
        if self._last_sweep is None or now - self._last_sweep >= SWEEP_INTERVAL_S:
            self._last_sweep = now
            await self.sweep()

    async def sweep(self) -> int:
        """Remove files past retention and files of runs that are no longer current; how many."""
        now = self._clock.now()
        async with self._db.read() as conn:
            expired = await repo.expired_files(conn, now - self._settings.retention_days * DAY_S)
        for task in expired:
            await asyncio.to_thread(_remove, stored_path(self._directory, task.id, task.attempts))

        async def op(conn: AsyncConnection) -> None:
            await repo.mark_files_removed(conn, [task.id for task in expired], now)

        if expired:
            await self._writer.submit(op)
            log.info("export files expired", extra={"count": len(expired)})
        async with self._db.read() as conn:
            live = await repo.live_runs(conn)
        orphans = await asyncio.to_thread(_orphans, self._directory, live)
        for path in orphans:
            await asyncio.to_thread(_remove, path)
        return len(expired) + len(orphans)


def _message_id(row: Sequence[object]) -> int:
    message_id = row[0]  # MESSAGE_FIELDS start with the id
    assert isinstance(message_id, int)
    return message_id


def _orphans(directory: Path, live: set[tuple[int, int]]) -> list[Path]:
    """Run files in ``directory`` whose run is neither running nor done with its file kept."""
    try:
        names = [entry.name for entry in directory.iterdir()]
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        match = _RUN_FILE.match(name)
        if match and (int(match.group(1)), int(match.group(2))) not in live:
            found.append(directory / name)
    return found


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
