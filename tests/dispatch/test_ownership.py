"""Connector leases: one node runs a connector's binds; another takes over when it stops renewing."""

from __future__ import annotations

from contextlib import AsyncExitStack

from smsgate.channels.smpp.connector import SmppConnector
from smsgate.dispatch.ownership import ConnectorLeases
from smsgate.dispatch.upstream import bind_pacers
from smsgate.services.container import Services
from smsgate.simulators.smsc import SmscSimulator
from tests.channels.smpp.support import ReceiptLog, connector_settings
from tests.support.clock import ManualClock


async def test_one_node_owns_the_connector_and_another_takes_over(
    services: Services, clock: ManualClock
) -> None:
    async with AsyncExitStack() as stack:
        smsc = await stack.enter_async_context(SmscSimulator(clock))
        settings = connector_settings(smsc.port)
        nodes = []
        for node in ("node-a", "node-b"):
            connector = await stack.enter_async_context(
                SmppConnector(settings, clock, ReceiptLog(), bind_pacers(clock))
            )
            nodes.append((connector, ConnectorLeases(services.writer, clock, node, [connector])))
        (a, leases_a), (b, leases_b) = nodes

        assert await leases_a.step() == {"operator": True}
        assert await leases_b.step() == {"operator": False}
        await a.wait_up()
        assert a.available and not b.available and smsc.binds == 1

        await clock.advance(20)  # node A renews in time; B still cannot take it
        assert await leases_a.step() == {"operator": True}
        assert await leases_b.step() == {"operator": False}

        await clock.advance(31)  # node A has died (no renewal): its lease runs out
        assert await leases_b.step() == {"operator": True}
        await b.wait_up()
        assert b.available
        assert await leases_a.step() == {"operator": False}  # A comes back and stands down
        assert not a.owned and not a.available


async def test_a_released_lease_is_free_at_once(services: Services, clock: ManualClock) -> None:
    async with AsyncExitStack() as stack:
        smsc = await stack.enter_async_context(SmscSimulator(clock))
        settings = connector_settings(smsc.port)
        a = await stack.enter_async_context(
            SmppConnector(settings, clock, ReceiptLog(), bind_pacers(clock))
        )
        b = await stack.enter_async_context(
            SmppConnector(settings, clock, ReceiptLog(), bind_pacers(clock))
        )
        leases_a = ConnectorLeases(services.writer, clock, "node-a", [a])
        leases_b = ConnectorLeases(services.writer, clock, "node-b", [b])
        await leases_a.step()
        await leases_a.release()
        assert not a.owned
        assert await leases_b.step() == {"operator": True}
