"""Export tasks (downloads.php) and the message reads behind them.

A run of a task is a lease: :func:`claim` marks a task running until ``lease_until`` and numbers the
run (``attempts``). Progress, the result and failure are recorded only while that run is still the
task's current one and the task is still running (:func:`renew`, :func:`finish`, :func:`fail`), so
a runner whose lease ran out, or whose task was cancelled, learns it at its next write and a task
taken over is never finished twice.

Every read of tasks on behalf of an account is filtered by that account here, in the query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import BigInteger, and_, func, insert, or_, select, text, type_coerce, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from smsgate.domain.codes import ExportStatus
from smsgate.domain.exports import ExportFilters, parse_stored_filter
from smsgate.store.schema import export_tasks, messages

# Claims are serialised across nodes (PostgreSQL) so that two nodes cannot each start a task of the
# same account: the "one running task per account" rule is a read-then-write.
_CLAIM_LOCK_KEY = 0x65787074  # "expt"
_CANDIDATES = 200


@dataclass(frozen=True, slots=True)
class ExportTask:
    id: int
    account_id: int
    name: str
    period_start: float
    period_end: float
    phones: str
    statuses: str
    types: str
    charset: str
    status: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    file_name: str | None
    file_removed_at: float | None
    rows_expected: int
    rows_written: int
    error: str | None
    attempts: int
    runner: str | None
    lease_until: float | None

    @classmethod
    def from_row(cls, row: RowMapping) -> ExportTask:
        return cls(**{name: row[name] for name in _FIELDS})

    @property
    def filters(self) -> ExportFilters:
        return ExportFilters(
            period_start=self.period_start,
            period_end=self.period_end,
            phones=parse_stored_filter(self.phones),
            statuses=tuple(int(s) for s in parse_stored_filter(self.statuses)),
            types=tuple(int(t) for t in parse_stored_filter(self.types)),
        )


_FIELDS = tuple(f.name for f in fields(ExportTask))
_COLUMNS = [export_tasks.c[name] for name in _FIELDS]
_ACTIVE = (int(ExportStatus.WAITING), int(ExportStatus.RUNNING))


@dataclass(frozen=True, slots=True)
class NewExportTask:
    account_id: int
    name: str
    filters: ExportFilters
    charset: str
    created_at: float


async def insert_task(conn: AsyncConnection, task: NewExportTask) -> ExportTask:
    filters = task.filters
    row = (
        (
            await conn.execute(
                insert(export_tasks)
                .values(
                    account_id=task.account_id,
                    name=task.name,
                    period_start=filters.period_start,
                    period_end=filters.period_end,
                    phones=",".join(filters.phones),
                    statuses=",".join(str(s) for s in filters.statuses),
                    types=",".join(str(t) for t in filters.types),
                    charset=task.charset,
                    status=int(ExportStatus.WAITING),
                    created_at=task.created_at,
                )
                .returning(*_COLUMNS)
            )
        )
        .mappings()
        .one()
    )
    return ExportTask.from_row(row)


async def count_active(conn: AsyncConnection, account_id: int) -> int:
    """Tasks of the account waiting or running."""
    statement = (
        select(func.count())
        .select_from(export_tasks)
        .where(export_tasks.c.account_id == account_id, export_tasks.c.status.in_(_ACTIVE))
    )
    return int((await conn.execute(statement)).scalar_one())


async def list_tasks(
    conn: AsyncConnection, account_id: int, after_id: int, limit: int
) -> list[ExportTask]:
    """The account's tasks with an id above ``after_id``, ascending."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(export_tasks.c.account_id == account_id, export_tasks.c.id > after_id)
        .order_by(export_tasks.c.id)
        .limit(limit)
    )
    return [ExportTask.from_row(row) for row in rows.mappings()]


async def get_task(conn: AsyncConnection, account_id: int, task_id: int) -> ExportTask | None:
    row = (
        (
            await conn.execute(
                select(*_COLUMNS).where(
                    export_tasks.c.account_id == account_id, export_tasks.c.id == task_id
                )
            )
        )
        .mappings()
        .first()
    )
    return ExportTask.from_row(row) if row is not None else None


async def find_by_name(conn: AsyncConnection, account_id: int, name: str) -> list[ExportTask]:
    """The account's tasks whose file name or task name is ``name``, newest first."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(
            export_tasks.c.account_id == account_id,
            or_(export_tasks.c.file_name == name, export_tasks.c.name == name),
        )
        .order_by(export_tasks.c.id.desc())
        .limit(_CANDIDATES)
    )
    return [ExportTask.from_row(row) for row in rows.mappings()]


async def cancel(conn: AsyncConnection, account_id: int, task_id: int, now: float) -> bool:
    """Waiting or running → cancelled; False when the task is in another state (or not theirs)."""
    result = await conn.execute(
        update(export_tasks)
        .where(
            export_tasks.c.account_id == account_id,
            export_tasks.c.id == task_id,
            export_tasks.c.status.in_(_ACTIVE),
        )
        .values(status=int(ExportStatus.CANCELLED), finished_at=now, lease_until=None)
    )
    return result.rowcount == 1


# --- runs --------------------------------------------------------------------------------------


def _claimable(now: float) -> ColumnElement[bool]:
    return or_(
        export_tasks.c.status == int(ExportStatus.WAITING),
        and_(
            export_tasks.c.status == int(ExportStatus.RUNNING),
            export_tasks.c.lease_until < now,
        ),
    )


async def claim(
    conn: AsyncConnection,
    *,
    now: float,
    lease_until: float,
    runner: str,
    limit: int,
    max_attempts: int,
    dialect: str,
    only_id: int | None = None,
) -> tuple[list[ExportTask], list[ExportTask]]:
    """Start up to ``limit`` tasks, oldest first, at most one per account and none of an account
    that already has a task running under a live lease; a task whose lease ran out is taken over.

    Returns (tasks now running under this lease, tasks given up: claimed ``max_attempts`` times
    already, now failed). ``only_id`` restricts the claim to one task (the CLI's ``--wait``).
    """
    if dialect == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK_KEY})
    busy = set(
        (
            await conn.execute(
                select(export_tasks.c.account_id)
                .where(
                    export_tasks.c.status == int(ExportStatus.RUNNING),
                    export_tasks.c.lease_until >= now,
                )
                .distinct()
            )
        ).scalars()
    )
    candidates = select(export_tasks.c.id, export_tasks.c.account_id, export_tasks.c.attempts)
    candidates = candidates.where(_claimable(now)).order_by(export_tasks.c.id).limit(_CANDIDATES)
    if only_id is not None:
        candidates = candidates.where(export_tasks.c.id == only_id)
    chosen: list[int] = []
    exhausted: list[int] = []
    for task_id, account_id, attempts in (await conn.execute(candidates)).all():
        if len(chosen) >= limit:
            break
        if account_id in busy:
            continue
        if attempts >= max_attempts:
            exhausted.append(task_id)
            continue
        busy.add(account_id)
        chosen.append(task_id)
    running = [
        await _start(conn, task_id, now=now, lease_until=lease_until, runner=runner)
        for task_id in chosen
    ]
    failed = [
        await _give_up(conn, task_id, now, f"gave up after {max_attempts} interrupted runs")
        for task_id in exhausted
    ]
    return (
        [task for task in running if task is not None],
        [task for task in failed if task is not None],
    )


async def _start(
    conn: AsyncConnection, task_id: int, *, now: float, lease_until: float, runner: str
) -> ExportTask | None:
    row = (
        (
            await conn.execute(
                update(export_tasks)
                .where(export_tasks.c.id == task_id, _claimable(now))
                .values(
                    status=int(ExportStatus.RUNNING),
                    attempts=export_tasks.c.attempts + 1,
                    lease_until=lease_until,
                    runner=runner,
                    started_at=now,
                    rows_written=0,
                )
                .returning(*_COLUMNS)
            )
        )
        .mappings()
        .first()
    )
    return ExportTask.from_row(row) if row is not None else None


async def _give_up(
    conn: AsyncConnection, task_id: int, now: float, error: str
) -> ExportTask | None:
    row = (
        (
            await conn.execute(
                update(export_tasks)
                .where(export_tasks.c.id == task_id, _claimable(now))
                .values(**_ended(ExportStatus.FAILED, now), error=error)
                .returning(*_COLUMNS)
            )
        )
        .mappings()
        .first()
    )
    return ExportTask.from_row(row) if row is not None else None


def _current_run(task_id: int, attempt: int) -> ColumnElement[bool]:
    return and_(
        export_tasks.c.id == task_id,
        export_tasks.c.attempts == attempt,
        export_tasks.c.status == int(ExportStatus.RUNNING),
    )


async def _update_current_run(
    conn: AsyncConnection, task_id: int, attempt: int, values: dict[str, object]
) -> bool:
    """Apply ``values`` if run ``attempt`` is still the task's current, running one."""
    result = await conn.execute(
        update(export_tasks).where(_current_run(task_id, attempt)).values(**values)
    )
    return result.rowcount == 1


async def renew(
    conn: AsyncConnection,
    task_id: int,
    attempt: int,
    *,
    lease_until: float,
    rows_written: int,
    rows_expected: int | None = None,
) -> bool:
    """Extend the run's lease and record its progress; False when the run is no longer current
    (cancelled, or taken over after the lease ran out)."""
    values: dict[str, object] = {"lease_until": lease_until, "rows_written": rows_written}
    if rows_expected is not None:
        values["rows_expected"] = rows_expected
    return await _update_current_run(conn, task_id, attempt, values)


async def finish(
    conn: AsyncConnection, task_id: int, attempt: int, *, now: float, file_name: str, rows: int
) -> bool:
    """Done (status 2) with its file; False when the run is no longer current."""
    values: dict[str, object] = {"file_name": file_name, "rows_written": rows}
    return await _update_current_run(
        conn, task_id, attempt, _ended(ExportStatus.DONE, now) | values
    )


async def fail(
    conn: AsyncConnection, task_id: int, attempt: int, *, now: float, error: str
) -> bool:
    """Failed (status 4) with the error; False when the run is no longer current."""
    return await _update_current_run(
        conn, task_id, attempt, _ended(ExportStatus.FAILED, now) | {"error": error}
    )


def _ended(status: ExportStatus, now: float) -> dict[str, object]:
    return {"status": int(status), "finished_at": now, "lease_until": None}


async def expired_files(conn: AsyncConnection, finished_before: float) -> list[ExportTask]:
    """Done tasks whose file is past retention and still on record as present."""
    rows = await conn.execute(
        select(*_COLUMNS).where(
            export_tasks.c.status == int(ExportStatus.DONE),
            export_tasks.c.file_removed_at.is_(None),
            export_tasks.c.finished_at < finished_before,
        )
    )
    return [ExportTask.from_row(row) for row in rows.mappings()]


async def mark_files_removed(conn: AsyncConnection, task_ids: Sequence[int], now: float) -> None:
    if task_ids:
        await conn.execute(
            update(export_tasks)
            .where(export_tasks.c.id.in_(list(task_ids)))
            .values(file_removed_at=now)
        )


async def live_runs(conn: AsyncConnection) -> set[tuple[int, int]]:
    """(task id, attempt) of every run whose file may still be in use: running, or done with its
    file kept."""
    rows = await conn.execute(
        select(export_tasks.c.id, export_tasks.c.attempts).where(
            or_(
                export_tasks.c.status == int(ExportStatus.RUNNING),
                and_(
                    export_tasks.c.status == int(ExportStatus.DONE),
                    export_tasks.c.file_removed_at.is_(None),
                ),
            )
        )
    )
    return {(int(task_id), int(attempt)) for task_id, attempt in rows.all()}


# --- the messages a task exports ----------------------------------------------------------------

_EXPORTED = (
    messages.c.id,
    messages.c.client_id,
    messages.c.phone,
    messages.c.sender,
    messages.c.text,
    messages.c.comment,
    messages.c.msg_type,
    messages.c.created_at,
    messages.c.updated_at,
    messages.c.status,
    messages.c.err,
    messages.c.parts,
    # The stored ten-thousandths, not a Decimal per row: the formatter writes them directly.
    type_coerce(messages.c.cost, BigInteger).label("cost_units"),
    messages.c.country,
    messages.c.operator,
    messages.c.region,
    messages.c.mccmnc,
)


def _matching(account_id: int, filters: ExportFilters) -> list[ColumnElement[bool]]:
    conditions = [
        messages.c.account_id == account_id,
        messages.c.created_at >= filters.period_start,
        messages.c.created_at < filters.period_end,
        messages.c.deleted.is_(False),
    ]
    if filters.phones:
        conditions.append(messages.c.phone.in_(filters.phones))
    if filters.statuses:
        conditions.append(messages.c.status.in_(filters.statuses))
    if filters.types:
        conditions.append(messages.c.msg_type.in_(filters.types))
    return conditions


async def id_range(
    conn: AsyncConnection, account_id: int, filters: ExportFilters
) -> tuple[int, int, int] | None:
    """(lowest id, highest id, count) of the matching messages; None when there are none.

    Uses the (account, created) index once, so that the batches can then walk the primary key.
    """
    row = (
        await conn.execute(
            select(func.min(messages.c.id), func.max(messages.c.id), func.count()).where(
                *_matching(account_id, filters)
            )
        )
    ).one()
    low, high, count = row
    if low is None or high is None:
        return None
    return int(low), int(high), int(count)


async def message_batch(
    conn: AsyncConnection,
    account_id: int,
    filters: ExportFilters,
    *,
    after_id: int,
    upto_id: int,
    limit: int,
) -> Sequence[Sequence[Any]]:
    """The next ``limit`` matching messages with ``after_id < id <= upto_id``, in id order, as
    tuples in ``domain.exports.MESSAGE_FIELDS`` order.

    Callers keep ``upto_id - after_id`` within a few batches: a narrow primary-key range keeps
    PostgreSQL on the index (with a wide one it may sort the whole range for every batch).
    ``account_id + 0`` keeps SQLite off the (account, created) index for this query: with it,
    every batch would read and sort the whole period again.
    """
    conditions = _matching(account_id, filters)
    conditions[0] = messages.c.account_id + 0 == account_id
    statement = (
        select(*_EXPORTED)
        .where(messages.c.id > after_id, messages.c.id <= upto_id, *conditions)
        .order_by(messages.c.id)
        .limit(limit)
    )
    return (await conn.execute(statement)).all()
