"""The numbering plan in use: operator, region and MCC/MNC of a number.

The plan is the stored registry (``smsgate numbering import FILE``) plus portability overrides; on a
database without an imported plan the small table shipped with smsgate is used, so that the demo and
the tests work out of the box. The plan is held in memory and re-read at most every ``reload_s``.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.numbering import NumberingPlan, NumberRange, parse_registry
from smsgate.domain.phones import normalise
from smsgate.services.caching import Refreshed
from smsgate.store.db import Database
from smsgate.store.repos import numbering as repo
from smsgate.store.writer import GroupCommitWriter

DEMO_TABLE = "numbering-demo.csv"
RELOAD_S = 60.0


def shipped_ranges() -> list[NumberRange]:
    """The small hand-made table that ships with smsgate."""
    text = resources.files("smsgate.data").joinpath(DEMO_TABLE).read_text(encoding="utf-8-sig")
    return list(parse_registry(text.splitlines()))


class NumberingService:
    def __init__(
        self, db: Database, writer: GroupCommitWriter, clock: Clock, *, reload_s: float = RELOAD_S
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._plan = Refreshed(self._load, clock, reload_s)

    async def plan(self) -> NumberingPlan:
        return await self._plan.get()

    async def import_ranges(self, ranges: Iterable[NumberRange]) -> int:
        """Replace the stored plan; the number of ranges stored."""
        items = list(ranges)

        async def op(conn: AsyncConnection) -> int:
            return await repo.replace_ranges(conn, items)

        count = await self._writer.submit(op)
        self._plan.clear()
        return count

    async def set_port(self, phone: str, operator: str) -> str:
        """Record that ``phone`` is served by ``operator`` (number portability)."""
        number = normalise(phone)
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            await repo.set_port(conn, number, operator, now)

        await self._writer.submit(op)
        self._plan.clear()
        return number

    async def _load(self) -> NumberingPlan:
        async with self._db.read() as conn:
            ranges = await repo.load_ranges(conn)
            ports = await repo.load_ports(conn)
        return NumberingPlan(ranges or shipped_ranges(), ports)
