"""The demo account that ``make run`` prints on a fresh database, and its banner."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.services.credentials import new_password
from smsgate.store.repos import meta

DEMO_LOGIN = "demo"
DEMO_BALANCE = Decimal("1000")
DEMO_PRICE = Decimal("2.50")


@dataclass(frozen=True, slots=True)
class DemoAccount:
    login: str
    password: str
    api_key: str


async def ensure_demo_account(services: Services) -> DemoAccount | None:
    """On an empty database: a demo account with a balance, an API key and a default tariff.

    Returns the credentials when this call created them, else None.
    """
    if await services.accounts.count() > 0:
        return None
    password = new_password()
    account = await services.accounts.create(DEMO_LOGIN, password, balance=DEMO_BALANCE)
    _, key = await services.accounts.new_api_key(account.login, "demo")
    if not await services.tariffs.rules():
        await services.tariffs.set(TariffRule(price=DEMO_PRICE))

    async def mark(conn: AsyncConnection) -> None:
        await meta.put_if_absent(conn, "demo_account", account.login)

    await services.writer.submit(mark)
    return DemoAccount(account.login, password, key)


def demo_banner(demo: DemoAccount, base_url: str, saved_to: Path) -> str:
    return "\n".join(
        [
            "",
            f"  smsgate demo account (shown once; also saved to {saved_to})",
            f"    login:    {demo.login}",
            f"    password: {demo.password}",
            f"    API key:  {demo.api_key}",
            "  try:",
            f"    curl '{base_url}/sys/balance.php?login={demo.login}&psw={demo.password}&fmt=3'",
            "",
        ]
    )


def save_demo_credentials(path: Path, banner: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(banner.lstrip("\n"), encoding="utf-8")
