"""The gateway with an upstream SMPP connector from its configuration (issue 5): it takes the
connector's lease, binds, routes to it and stores the operator's receipts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from smsgate.app import Gateway
from smsgate.config import Settings, load_settings
from smsgate.domain.routing import Route
from smsgate.simulators.smsc import SmscSimulator
from tests.conftest import TEST_ENV
from tests.dispatch.upstream_support import (
    add_alice,
    eventually,
    outcomes,
    run_with_time,
    send,
)
from tests.support.clock import ManualClock


@pytest.fixture
async def smsc(clock: ManualClock) -> AsyncIterator[SmscSimulator]:
    async with SmscSimulator(clock) as simulator:
        yield simulator


def with_connector(settings: Settings, port: int, tmp_path: Path) -> Settings:
    path = tmp_path / "smsgate.toml"
    path.write_text(
        f'[[connectors]]\nname = "operator"\n[[connectors.binds]]\nport = {port}\n'
        'system_id = "gw"\npassword = "pw"\nreconnect_min = "1s"\nreconnect_max = "2s"\n',
        encoding="utf-8",
    )
    environ = {
        **TEST_ENV,
        "SMSGATE_DATABASE_URL": settings.database.url,
        "SMSGATE_DATA_DIR": str(tmp_path),
        "SMSGATE_HTTP_PORT": "0",
        "SMSGATE_NODE_ID": "node-1",
    }
    return load_settings(path, environ)


async def test_configured_connector_carries_routed_messages(
    settings: Settings, smsc: SmscSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    configured = with_connector(settings, smsc.port, tmp_path)
    async with Gateway(configured, clock, only=frozenset({"http"})) as gateway:
        assert gateway.services is not None
        (connector,) = gateway.upstream
        await run_with_time(clock, connector.wait_up())
        assert connector.available
        await gateway.services.routes.add(Route(position=1, connector="operator"))
        with pytest.raises(ValueError, match="unknown connector"):
            await gateway.services.routes.add(Route(position=2, connector="nowhere"))
        await add_alice(gateway.services)
        base = f"http://127.0.0.1:{gateway.ports['http']}"
        async with httpx.AsyncClient(base_url=base) as client:
            await send(client, "79161234567")
        services = gateway.services

        async def delivered() -> bool:
            return await outcomes(services) == {"79161234567": (1, 0)}

        await eventually(clock, delivered)
    assert smsc.accepted[0].system_id == "gw"
