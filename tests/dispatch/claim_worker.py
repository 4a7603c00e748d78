"""A dispatcher process for the tests: claims until idle and prints the ids it handed to its simulator,
one per line. Arguments: database URL, wall-clock time to use, optional simulator log path."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from smsgate.app import open_services
from smsgate.channels.simulator import SimulatorChannel, SimulatorSettings
from smsgate.channels.simulator_log import HandoverLog
from smsgate.clock import SystemClock
from smsgate.config import load_settings
from smsgate.dispatch.worker import Dispatcher


class _FrozenWallClock(SystemClock):
    """The test's wall-clock time (its messages were accepted at a manual clock's time)."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


async def main(url: str, now: float, log: str | None) -> None:
    settings = load_settings(None, {"SMSGATE_DATABASE_URL": url})
    clock = _FrozenWallClock(now)
    async with open_services(settings, clock) as services:
        simulator = SimulatorChannel(
            clock,
            SimulatorSettings(rules=()),  # every message delivered
            log=HandoverLog(Path(log)) if log else None,
        )
        dispatcher = Dispatcher(services.writer, [simulator], clock, batch_size=50)
        await dispatcher.run_until_idle()
    sys.stdout.write("".join(f"{message_id}\n" for message_id in simulator.submitted))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
