"""A dispatcher process for tests/dispatch/test_processes.py: claims until idle, prints the ids it
handed to its simulator (its "operator log"), one per line."""

from __future__ import annotations

import asyncio
import sys

from smsgate.app import open_services
from smsgate.channels.simulator import SimulatorChannel
from smsgate.clock import SystemClock
from smsgate.config import load_settings
from smsgate.dispatch.worker import Dispatcher


class _FrozenWallClock(SystemClock):
    """The test's wall-clock time (its messages were accepted at a manual clock's time)."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


async def main(url: str, now: float) -> None:
    settings = load_settings(None, {"SMSGATE_DATABASE_URL": url})
    clock = _FrozenWallClock(now)
    async with open_services(settings, clock) as services:
        simulator = SimulatorChannel(clock)
        dispatcher = Dispatcher(services.writer, simulator, clock, batch_size=50)
        await dispatcher.run_until_idle()
    sys.stdout.write("".join(f"{message_id}\n" for message_id in simulator.submitted))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
