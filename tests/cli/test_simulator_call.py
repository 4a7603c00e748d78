"""``smsgate simulator call`` (issue 7): the provider's side of a call confirmation, run as a real
process against a gateway listening on 127.0.0.1 (no outside network)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from smsgate.app import Gateway
from smsgate.config import Settings
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from tests.conftest import make_settings
from tests.support.clock import ManualClock
from tests.support.gateway import gateway_env
from tests.test_cli import smsgate

pytestmark = pytest.mark.timeout(120)

SECRET = "provider-shared-secret"
NUMBER = "79990001101"
SUBSCRIBER = "79161234567"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        SMSGATE_HTTP_PORT="0",
        SMSGATE_WAIT_CALL_NUMBERS=NUMBER,
        SMSGATE_WAIT_CALL_PROVIDER_SECRET=SECRET,
    )


async def test_a_simulated_call_confirms_a_wait(
    settings: Settings, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    async with Gateway(settings, clock, only=frozenset({"http"})) as gateway:
        services = gateway.services
        assert isinstance(services, Services)
        alice: AccountRecord = await services.accounts.create(
            "alice", "password-1", balance=Decimal(1)
        )
        answer = await services.wait_calls.wait(alice, SUBSCRIBER)
        assert answer is not None and answer.number == NUMBER
        env = gateway_env(database_url, tmp_path, SMSGATE_WAIT_CALL_PROVIDER_SECRET=SECRET)
        url = f"http://127.0.0.1:{gateway.ports['http']}"
        args = ["simulator", "call", "--from", SUBSCRIBER, "--to", NUMBER, "--url", url]
        wrong = await asyncio.to_thread(smsgate, env, *args, "--secret", "guess", ok=False)
        assert wrong.returncode != 0 and "401" in wrong.stderr
        done = await asyncio.to_thread(smsgate, env, *args)
        assert done.stdout.strip() == f'{{"confirmed":true,"id":{answer.wait_id}}}'
