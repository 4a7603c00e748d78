"""The simulated operator's own durable log of hand-overs (JSON lines, fsynced per batch).

A real operator outlives a crash of smsgate: it still holds what it was handed, can say so, and still
sends the receipts. With a log the simulator behaves the same way across a restart of the process:
it reloads what it holds, answers ``recover``, and schedules the receipts again (a receipt for a
message that is already final is ignored by the dispatcher). The log is also the evidence that no
message was handed over twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from smsgate.channels.base import OutgoingMessage


class HandoverLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[OutgoingMessage]:
        """Every message in the log, in hand-over order (a torn last line is ignored)."""
        if not self.path.exists():
            return []
        messages = []
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    messages.append(OutgoingMessage(**json.loads(line)))
                except (ValueError, TypeError):
                    break  # the process died while writing this line: it was never acknowledged
        return messages

    def append(self, batch: Sequence[OutgoingMessage]) -> None:
        """Record ``batch`` durably (blocking: call it off the event loop)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write("".join(json.dumps(asdict(m), ensure_ascii=False) + "\n" for m in batch))
            log.flush()
            os.fsync(log.fileno())
