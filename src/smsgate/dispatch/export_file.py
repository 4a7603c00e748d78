"""One run's CSV file: written to a partial file, then moved into place in one step.

Blocking file I/O: the runner calls these methods in a worker thread. Memory stays flat whatever the
size of the export: rows arrive in bounded batches and go straight to the file.

CSV (http-api.md §13, an smsgate definition): RFC 4180 — comma, CRLF, fields with a comma, a double
quote or a line break quoted, quotes doubled (``domain.exports.CsvRowFormatter``) — with a header
row, in the task's charset. Characters that charset cannot hold (an emoji in windows-1251) are
written as ``?``, as replies in that charset are (http-api.md §1.3); the export never fails over one
character.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from smsgate.domain.exports import CSV_COLUMNS, CsvRowFormatter


class CsvExportFile:
    def __init__(self, partial: Path, final: Path, charset: str, tz_minutes: int) -> None:
        self.partial = partial
        self.final = final
        self._charset = charset
        self._formatter = CsvRowFormatter(tz_minutes)
        self._file: BinaryIO | None = None

    def open(self) -> None:
        """Create the partial file (and the directory) and write the header row."""
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.partial.open("wb")
        self._write(",".join(CSV_COLUMNS) + "\r\n")

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append stored messages (``domain.exports.MESSAGE_FIELDS`` order)."""
        line = self._formatter.line
        self._write("".join([line(row) for row in rows]))

    def _write(self, text: str) -> None:
        # A batch is encoded and written in one go, one call instead of one per row.
        # errors="replace": see the module docstring.
        assert self._file is not None, "open() first"
        self._file.write(text.encode(self._charset, "replace"))

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
