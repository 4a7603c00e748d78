"""The whole process: listeners on real sockets, /health, /metrics, the demo account, TLS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from smsgate.app import Gateway
from smsgate.config import Settings
from smsgate.demo import ensure_demo_account
from tests.conftest import make_settings
from tests.support.clock import ManualClock
from tests.support.tls import self_signed_certificate


@pytest.fixture
async def gateway(settings: Settings, clock: ManualClock) -> AsyncIterator[Gateway]:
    settings = make_settings(settings.database.url, Path(settings.data_dir), SMSGATE_HTTP_PORT="0")
    async with Gateway(settings, clock, only=frozenset({"http"})) as running:
        yield running


async def test_demo_account_over_a_real_socket(gateway: Gateway) -> None:
    assert gateway.services is not None
    demo = await ensure_demo_account(gateway.services)
    assert demo is not None
    assert await ensure_demo_account(gateway.services) is None  # only on an empty database
    base = f"http://127.0.0.1:{gateway.ports['http']}"
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.get(
            "/sys/balance.php", params={"login": demo.login, "psw": demo.password, "fmt": "3"}
        )
        assert response.json() == {"balance": "1000.00"}
        response = await client.get("/sys/balance.php", params={"apikey": demo.api_key, "fmt": "1"})
        assert response.text == "1000.00"
    # A megabyte in the query string over a real socket: error 1, not a dropped connection.
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.ports["http"])
    target = "/sys/balance.php?fmt=3&psw=x&login=" + "A" * 1_000_000
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    reply = await reader.read()
    writer.close()
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert reply.endswith(b'{"error": "parameters error", "error_code": 1}')


async def test_health_and_metrics(gateway: Gateway) -> None:
    base = f"http://127.0.0.1:{gateway.ports['http']}"
    async with httpx.AsyncClient(base_url=base) as client:
        health = await client.get("/health")
        assert health.status_code == 200
        body = health.json()
        assert body["database"] is True and body["listeners"] == {"http": True}
        assert body["version"]
        await client.get("/sys/balance.php", params={"login": "nobody", "psw": "x"})
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert 'smsgate_http_requests_total{endpoint="balance",outcome="2"} 1.0' in metrics.text
        assert "smsgate_writer_transactions_total" in metrics.text


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = self_signed_certificate(tmp_path)
    return cert, key


async def test_https_listener(
    settings: Settings, clock: ManualClock, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    tls_settings = make_settings(
        settings.database.url,
        Path(settings.data_dir),
        SMSGATE_HTTP_PORT="0",
        SMSGATE_HTTP_TLS_PORT="0",
        SMSGATE_HTTP_TLS_CERT=str(cert),
        SMSGATE_HTTP_TLS_KEY=str(key),
    )
    async with Gateway(tls_settings, clock, only=frozenset({"http"})) as running:
        assert set(running.ports) == {"http", "https"}
        context = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(verify=context) as client:
            response = await client.get(f"https://127.0.0.1:{running.ports['https']}/health")
        assert response.status_code == 200
        assert response.json()["listeners"] == {"http": True, "https": True}


def test_simulator_settings_from_configuration(tmp_path: Path) -> None:
    from smsgate.app import simulator_settings
    from smsgate.errors import ConfigError

    settings = make_settings(
        "sqlite:///x.db",
        tmp_path,
        SMSGATE_SIMULATOR_RULES="*7=silent, 7916*=undeliv:13",
        SMSGATE_SIMULATOR_LATENCY="2s",
        SMSGATE_SIMULATOR_DELIVERY_RATIO="0.9",
    )
    simulated = simulator_settings(settings)
    assert [str(rule) for rule in simulated.rules] == ["*7=silent", "7916*=undeliv:13"]
    assert simulated.latency_s == 2.0 and simulated.delivery_ratio == 0.9
    bad = make_settings("sqlite:///x.db", tmp_path, SMSGATE_SIMULATOR_RULES="*7=explode")
    with pytest.raises(ConfigError) as failed:
        simulator_settings(bad)
    assert failed.value.key == "simulator.rules (SMSGATE_SIMULATOR_RULES)"
