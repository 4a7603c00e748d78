"""SQLite: the WAL is checkpointed by a thread of its own, not by the commit that fills it.

By default SQLite checkpoints inside the commit that takes the write-ahead log past 1,000 pages:
that commit copies the log into the database file and syncs it, 50-100 ms here after a burst of
sends, and every acknowledgement queued behind the group-commit writer waits for it (the p99 of
send.php at 1,000 requests/s came from those commits). The writer's connection therefore only
checkpoints when the log has grown far beyond that (``WRITER_AUTOCHECKPOINT_PAGES``, a safety net),
and :class:`Checkpointer` runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection every
``interval_s``: a passive checkpoint copies what no reader still needs, without taking the write
lock, so commits go on meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

# The writer's own autocheckpoint threshold (pages of 4 KB: about 400 MB of log), reached only if
# the checkpointer cannot keep up or is not running.
WRITER_AUTOCHECKPOINT_PAGES = 100_000
CHECKPOINT_INTERVAL_S = 0.5


class Checkpointer:
    """A daemon thread checkpointing the SQLite database at ``path`` until :meth:`close`."""

    def __init__(self, path: str, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self._path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._conn: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def checkpoint(self) -> tuple[int, int, int] | None:
        """One passive checkpoint: (busy, pages in the log, pages checkpointed), or None when it
        could not run (another process checkpoints, the file is gone); called by the thread."""
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self._path, timeout=0, isolation_level=None, check_same_thread=False
                )
            busy, pages, done = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            log.debug("checkpoint skipped: %s", exc)
            self._disconnect()
            return None
        return int(busy), int(pages), int(done)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._interval_s):
                self.checkpoint()
        finally:
            self._disconnect()

    def _disconnect(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(sqlite3.Error):
                conn.close()
