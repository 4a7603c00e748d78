"""One owner per connector across nodes: a lease row per connector, renewed while held (issue 5).

Every ``renew_s`` :class:`ConnectorLeases` takes or renews the lease of each of its connectors for
``lease_s`` and tells each connector whether it owns it (``set_owned``): an owner runs its binds, any
other node keeps the connector unavailable, so the dispatcher routes past it. When the database
cannot be reached a held lease is kept only while it is still valid past the next renewal; a node
that stops renewing loses the connector to another within ``lease_s``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.store.repos import leases
from smsgate.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

LEASE_S = 30.0
RENEW_S = 10.0


class OwnedChannel(Protocol):
    name: str

    async def set_owned(self, owned: bool) -> None: ...


class ConnectorLeases:
    def __init__(
        self,
        writer: GroupCommitWriter,
        clock: Clock,
        node: str,
        channels: Sequence[OwnedChannel],
        *,
        lease_s: float = LEASE_S,
        renew_s: float = RENEW_S,
    ) -> None:
        if not 0 < renew_s < lease_s:
            raise ValueError("renew_s must be positive and shorter than lease_s")
        self._writer = writer
        self._clock = clock
        self._node = node
        self._channels = list(channels)
        self._lease_s = lease_s
        self._renew_s = renew_s
        self._valid_until: dict[str, float] = {}

    async def step(self) -> dict[str, bool]:
        """Take or renew every lease once and hand each connector its ownership."""
        now = self._clock.now()
        until = now + self._lease_s
        names = [channel.name for channel in self._channels]

        async def op(conn: AsyncConnection) -> dict[str, bool]:
            return {
                name: await leases.acquire(conn, name, self._node, now, until) for name in names
            }

        try:
            held = await self._writer.submit(op)
        except Exception:  # the store is down: keep only what stays ours past the next renewal
            log.exception("connector leases could not be renewed")
            held = {name: now + self._renew_s < self._valid_until.get(name, 0.0) for name in names}
        else:
            for name, owned in held.items():
                self._valid_until[name] = until if owned else 0.0
        for channel in self._channels:
            await channel.set_owned(held[channel.name])
        return held

    async def run(self) -> None:
        while True:
            await self.step()
            await self._clock.sleep(self._renew_s)

    async def release(self) -> None:
        """Stop every connector and give its lease up (a clean shutdown)."""
        for channel in self._channels:
            await channel.set_owned(False)
        names = [channel.name for channel in self._channels if self._valid_until.get(channel.name)]

        async def op(conn: AsyncConnection) -> None:
            for name in names:
                await leases.release(conn, name, self._node)

        if names:
            await self._writer.submit(op)
        self._valid_until.clear()
