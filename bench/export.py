"""Benchmark: a deferred export (downloads.php, issue 6) of 1,000,000 messages to CSV.

For each back end (SQLite, PostgreSQL) on a fresh database the script inserts the fixture directly
in bulk (N messages of the exported account, plus every tenth row another account's, interleaved,
so the export has to skip foreign rows as it would in a shared store), then runs the export in a
child process of its own: the export runner claims the task, reads the messages in id order in
batches of ``exports.batch_rows`` and writes the CSV. The child reports rows/s (claim to done) and
the growth of its peak resident memory over its resident memory just before the export (Linux
``VmHWM``, reset with ``/proc/self/clear_refs``), and rows per CPU-second of the export process (all
its threads; the database server's CPU not included), which says more than wall time on a shared
machine. The parent then checks the file with the csv module.

Targets (issue 6, 2-core machine): ≥ 50,000 rows/s; peak RSS growth < 100 MB whatever the row count.

    .venv/bin/python bench/export.py                          # both back ends, 1,000,000 messages
    .venv/bin/python bench/export.py --backend sqlite --messages 200000 --charset windows-1251
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness import database, describe_machine
from smsgate.app import export_runner, migrate_database, open_services
from smsgate.clock import SystemClock
from smsgate.config import Settings, load_settings
from smsgate.domain.exports import ExportFilters
from smsgate.services.exports import stored_path

TARGET_ROWS_S = 50_000
TARGET_RSS_MB = 100
NOISE_EVERY = 10  # every tenth row belongs to another account
INSERT_CHUNK = 50_000
SPACING_S = 2.0  # one message every two seconds: 1,000,000 span 23 days
PERIOD_END = 1_764_000_000.0
COLUMNS = (
    "account_id",
    "client_id",
    "phone",
    "msg_type",
    "sender",
    "text",
    "comment",
    "status",
    "err",
    "parts",
    "cost",
    "country",
    "operator",
    "operator_orig",
    "region",
    "mccmnc",
    "created_at",
    "updated_at",
    "due_at",
    "valid_until",
)
TEXTS = (
    "Ваш код подтверждения: {n}",
    'Order {n} shipped, "express" delivery',
    "Скидка 10%, только сегодня!\nОтписаться: STOP",
    "Reminder {n}",
)


def settings_for(url: str, workdir: Path, **env: str) -> Settings:
    environ = {"SMSGATE_DATABASE_URL": url, "SMSGATE_DATA_DIR": str(workdir), **env}
    return load_settings(None, environ, cwd=workdir)


def fixture_rows(exported: int, other: int, count: int) -> Iterator[tuple[Any, ...]]:
    """``count`` messages of account ``exported`` with every tenth row one of ``other``."""
    start = PERIOD_END - 86400 - count * SPACING_S * (1 + 1 / NOISE_EVERY)
    n = made = 0
    while made < count:
        account = other if n % NOISE_EVERY == NOISE_EVERY - 1 else exported
        created = start + n * SPACING_S
        yield (
            account,
            str(n + 1),
            f"79{n % 1_000_000_000:09d}",
            0,
            "Shop" if n % 3 else "Магазин",
            TEXTS[n % len(TEXTS)].format(n=n),
            None if n % 5 else f"campaign {n // 1000}, wave A",
            1 if n % 7 else 20,
            0 if n % 7 else 1,
            1 + n % 3,
            25_000 * (1 + n % 3),  # ten-thousandths: 2.50 per part
            "RU",
            "MTS" if n % 2 else "Beeline",
            "MTS",
            "Москва",
            "25001",
            created,
            created + 5,
            created,
            created + 86400,
        )
        n += 1
        made += account == exported


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == INSERT_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def insert_sqlite(path: str, rows: Iterator[tuple[Any, ...]]) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        statement = (
            f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        )
        for chunk in _chunks(rows):
            with conn:
                conn.executemany(statement, chunk)
    finally:
        conn.close()


async def insert_postgresql(url: str, rows: Iterator[tuple[Any, ...]]) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url)
    try:
        for chunk in _chunks(rows):
            await conn.copy_records_to_table("messages", records=chunk, columns=list(COLUMNS))
        await conn.execute("ANALYZE messages")
    finally:
        await conn.close()


async def prepare(settings: Settings, backend: str, url: str, count: int) -> float:
    """Migrate, create the accounts, insert the fixture; the seconds the insertion took."""
    await migrate_database(settings)
    async with open_services(settings, SystemClock()) as services:
        exported = await services.accounts.create("export", "bench-password")
        other = await services.accounts.create("other", "bench-password")
    rows = fixture_rows(exported.id, other.id, count)
    started = time.perf_counter()
    if backend == "sqlite":
        insert_sqlite(url.split(":///", 1)[1], rows)
    else:
        await insert_postgresql(url, rows)
    return time.perf_counter() - started


# --- the child: one export, measured --------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> int:
    """Make the peak resident memory (VmHWM) the current one; the current one in KiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


async def export_once(settings: Settings, charset: str) -> dict[str, Any]:
    async with open_services(settings, SystemClock()) as services:
        account = await services.accounts.get("export")
        filters = ExportFilters(period_start=0, period_end=PERIOD_END)
        task = await services.exports.add(account.id, "bench", filters, charset)
        runner = export_runner(services)
        baseline_kib = reset_peak_rss()
        started, cpu = time.perf_counter(), time.process_time()
        (outcome,) = await runner.run_until_idle()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak_kib = _status_kib("VmHWM")
        done = await services.exports.get(account.id, task.id)
        assert done is not None
        path = stored_path(Path(settings.exports.dir), done.id, done.attempts)
    return {
        "rows": outcome.rows,
        "batches": outcome.batches,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "baseline_mb": baseline_kib / 1024,
        "growth_mb": (peak_kib - baseline_kib) / 1024,
        "file": str(path),
        "bytes": path.stat().st_size,
    }


def child(url: str, workdir: str, charset: str, batch_rows: str) -> int:
    settings = settings_for(url, Path(workdir), SMSGATE_EXPORTS_BATCH_ROWS=batch_rows)
    print(json.dumps(asyncio.run(export_once(settings, charset))))
    return 0


# --- the parent ----------------------------------------------------------------------------------


def count_records(path: str, charset: str) -> int:
    with open(path, encoding=charset, newline="") as file:
        return sum(1 for _ in csv.reader(file)) - 1


def run_backend(
    backend: str, count: int, charset: str, batch_rows: int
) -> tuple[float, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
        settings = settings_for(url, Path(tmp))
        insert_s = asyncio.run(prepare(settings, backend, url, count))
        done = subprocess.run(  # this very script
            [sys.executable, __file__, "--child", url, tmp, charset, str(batch_rows)],
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        records = count_records(result["file"], charset)
        if records != count or result["rows"] != count:
            raise SystemExit(f"{backend}: {result['rows']} rows, {records} records for {count}")
        return insert_s, result


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child(*argv[1:5])
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--charset", default="utf-8", choices=["utf-8", "windows-1251", "koi8-r"])
    parser.add_argument("--batch-rows", type=int, default=5000)
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    machine = describe_machine()
    print(
        f"machine: {machine.describe()}; {args.messages:,} messages exported "
        f"(+{args.messages // (NOISE_EVERY - 1):,} of another account interleaved), "
        f"{args.charset}, batches of {args.batch_rows:,}"
    )
    print(
        "| back end | rows | seconds | rows/s | rows per CPU-second | peak RSS growth | file "
        "| target |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for backend in backends:
        _, result = run_backend(backend, args.messages, args.charset, args.batch_rows)
        rate = result["rows"] / result["seconds"]
        met = rate >= TARGET_ROWS_S and result["growth_mb"] < TARGET_RSS_MB
        print(
            f"| {backend} | {result['rows']:,} | {result['seconds']:.1f} | {rate:,.0f} "
            f"| {result['rows'] / result['cpu_seconds']:,.0f} | {result['growth_mb']:.1f} MB "
            f"| {result['bytes'] / 2**20:,.0f} MiB "
            f"| ≥ {TARGET_ROWS_S:,} rows/s, < {TARGET_RSS_MB} MB: {'met' if met else 'MISSED'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
