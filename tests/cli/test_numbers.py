"""``smsgate numbers add|list|remove`` run as a real process, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from smsgate.services.container import Services
from tests.support.accounts import PASSWORD
from tests.support.gateway import gateway_env
from tests.test_cli import smsgate

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return gateway_env(database_url, tmp_path)


async def test_add_list_remove(services: Services, env: dict[str, str]) -> None:
    added = smsgate(env, "numbers", "add", "+7 999 000-00-01", "--cost", "300", "--country", "RU")
    assert added.stdout.strip() == "added 79990000001 at 300.00 a month"
    smsgate(env, "numbers", "add", "79990000002", "--cost", "150.5")
    again = smsgate(env, "numbers", "add", "79990000002", "--cost", "1", ok=False)
    assert again.returncode == 1 and "already offered" in again.stderr
    bad = smsgate(env, "numbers", "add", "7999x", "--cost", "1", ok=False)
    assert bad.returncode == 1 and "invalid phone number" in bad.stderr

    alice = await services.accounts.create("alice", PASSWORD, balance=Decimal("1000"))
    await services.inbound_numbers.buy(alice, "79990000001", noprolong=True)
    listed = smsgate(env, "numbers", "list").stdout.splitlines()
    assert listed == [
        "phone\tcountry\tcost\trenter\tpaid_till\tnoprolong",
        "79990000001\tRU\t300.00\talice\t01.12.2025 00:00:00\t1",
        "79990000002\t\t150.50\t\t\t0",
    ]

    refused = smsgate(env, "numbers", "remove", "79990000001", ok=False)
    assert refused.returncode == 1 and "is rented" in refused.stderr
    assert smsgate(env, "numbers", "remove", "79990000002").stdout.strip() == (
        "removed 79990000002"
    )
    smsgate(env, "numbers", "remove", "79990000001", "--force")
    assert smsgate(env, "numbers", "list").stdout.splitlines() == [
        "phone\tcountry\tcost\trenter\tpaid_till\tnoprolong"
    ]
