"""One run's CSV file: written to a partial file, then moved into place in one step.

Blocking file I/O: the runner calls these methods in a worker thread. Memory stays flat whatever the
size of the export: rows arrive in bounded batches and go straight to the file.

CSV (http-api.md §13, an smsgate definition): RFC 4180 — comma, CRLF, fields with a comma, a double
quote or a line break quoted, quotes doubled — with a header row, in the task's charset. Characters
that charset cannot hold (an emoji in windows-1251) are written as ``?``, as replies in that charset
are (http-api.md §1.3); the export never fails over one character.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from smsgate.domain.exports import CSV_COLUMNS, CsvRowFormatter

if TYPE_CHECKING:
    from _csv import Writer


class CsvExportFile:
    def __init__(self, partial: Path, final: Path, charset: str, tz_minutes: int) -> None:
        self.partial = partial
        self.final = final
        self._charset = charset
        self._formatter = CsvRowFormatter(tz_minutes)
        self._file: TextIO | None = None
        self._csv: Writer | None = None

    def open(self) -> None:
        """Create the partial file (and the directory) and write the header row."""
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        # newline="": the csv module writes the CRLF itself; errors="replace": see module docstring.
        self._file = self.partial.open("w", encoding=self._charset, errors="replace", newline="")
        self._csv = csv.writer(self._file, lineterminator="\r\n")
        self._csv.writerow(CSV_COLUMNS)

    def write(self, rows: Sequence[Sequence[object]]) -> None:
        """Append stored messages (``domain.exports.MESSAGE_FIELDS`` order)."""
        assert self._csv is not None, "open() first"
        record = self._formatter.record
        self._csv.writerows(record(row) for row in rows)

    def publish(self) -> None:
        """Make the file durable and move it into place (atomic on one file system)."""
        assert self._file is not None, "open() first"
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial, self.final)
        _sync_directory(self.final.parent)

    def abort(self) -> None:
        """Close and remove whatever this run wrote."""
        if self._file is not None and not self._file.closed:
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()


def _sync_directory(directory: Path) -> None:
    """So that the rename itself survives a power loss."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
