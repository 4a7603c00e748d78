"""Deferred exports: an account's export tasks and their files (downloads.php, http-api.md §13).

The use cases behind downloads.php and ``smsgate export``: create a task, list, cancel, and open a
finished task's file. Tasks are run by ``dispatch/exports.py``.

Tenant isolation: every lookup is by (account, task id) or (account, name) in the store; a file's
location on disk is derived from the task's id and run number only, never from a name the client
sent, so no name (``../x``, an absolute path) can reach another account's file or leave the export
directory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.config import ExportSettings
from smsgate.domain.codes import ExportStatus, RequestErrorCode
from smsgate.domain.exports import ExportFilters
from smsgate.errors import RequestError
from smsgate.store.db import Database
from smsgate.store.repos import exports as repo
from smsgate.store.repos.exports import ExportTask, NewExportTask
from smsgate.store.writer import GroupCommitWriter

FILE_NOT_AVAILABLE = "file not available"  # codes.md §1.2, downloads.php error 5
TOO_MANY_TASKS = "too many export tasks"


def stored_path(directory: Path, task_id: int, attempt: int) -> Path:
    """Where run ``attempt`` of a task keeps its finished file."""
    return directory / f"{task_id}-{attempt}.csv"


def partial_path(directory: Path, task_id: int, attempt: int) -> Path:
    """Where run ``attempt`` writes before moving the file into place."""
    return directory / f".{task_id}-{attempt}.csv.part"


def file_not_available(detail: str) -> RequestError:
    return RequestError(RequestErrorCode.INVALID_DATE, detail, description=FILE_NOT_AVAILABLE)


@dataclass(slots=True)
class ExportFile:
    """A finished task's file, opened: it stays readable even if retention removes it meanwhile."""

    task: ExportTask
    name: str
    charset: str
    stream: BinaryIO

    def close(self) -> None:
        self.stream.close()


class ExportService:
    def __init__(
        self, db: Database, writer: GroupCommitWriter, clock: Clock, settings: ExportSettings
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self.settings = settings
        self.directory = Path(settings.dir)

    async def add(
        self, account_id: int, name: str, filters: ExportFilters, charset: str
    ) -> ExportTask:
        """A new waiting task; error 9 when the account already has ``max_queued`` waiting or
        running."""
        new = NewExportTask(account_id, name, filters, charset, self._clock.now())
        limit = self.settings.max_queued

        async def op(conn: AsyncConnection) -> ExportTask | None:
            if await repo.count_active(conn, account_id) >= limit:
                return None
            return await repo.insert_task(conn, new)

        task = await self._writer.submit(op)
        if task is None:
            raise RequestError(RequestErrorCode.TOO_MANY, TOO_MANY_TASKS)
        return task

    async def list(
        self, account_id: int, *, after_id: int = 0, limit: int = 100
    ) -> list[ExportTask]:
        async with self._db.read() as conn:
            return await repo.list_tasks(conn, account_id, after_id, limit)

    async def get(self, account_id: int, task_id: int) -> ExportTask | None:
        async with self._db.read() as conn:
            return await repo.get_task(conn, account_id, task_id)

    async def cancel(self, account_id: int, task_id: int) -> None:
        """Cancel a waiting or running task (a running one stops at its next progress write).

        Error 5 for an unknown task (or another account's), error 1 for one in another state.
        """
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> bool:
            return await repo.cancel(conn, account_id, task_id, now)

        if await self._writer.submit(op):
            return
        if await self.get(account_id, task_id) is None:
            raise file_not_available("unknown task")
        raise RequestError(
            RequestErrorCode.PARAMETERS, "only waiting or running tasks can be cancelled"
        )

    async def open_file(
        self, account_id: int, *, task_id: int | None = None, name: str | None = None
    ) -> ExportFile:
        """The file of a done task of the account, by id or by name (the file name or the task
        name; with several, the newest whose file is still kept). Error 5 otherwise."""
        async with self._db.read() as conn:
            if task_id is not None:
                found = await repo.get_task(conn, account_id, task_id)
                candidates = [found] if found is not None else []
            else:
                candidates = await repo.find_by_name(conn, account_id, name or "")
        for task in candidates:
            if task.status != ExportStatus.DONE or task.file_removed_at is not None:
                continue
            path = stored_path(self.directory, task.id, task.attempts)
            try:
                stream = await asyncio.to_thread(path.open, "rb")
            except OSError:
                continue  # removed by retention a moment ago, or not on this node's storage
            return ExportFile(task, task.file_name or path.name, task.charset, stream)
        raise file_not_available("no finished file for this task")
