"""The ``smsgate`` command.

Every command reads the same configuration as ``run`` (``--config`` / ``SMSGATE_CONFIG`` and the
``SMSGATE_*`` environment), so it works against PostgreSQL as well as the default SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
import uvloop

import smsgate
from smsgate.app import (
    LISTENERS,
    Gateway,
    demo_banner,
    ensure_demo_account,
    migrate_database,
    open_services,
    save_demo_credentials,
)
from smsgate.clock import SystemClock
from smsgate.config import Settings, load_settings
from smsgate.domain.codes import MessageType
from smsgate.domain.money import display, parse_amount
from smsgate.domain.numbering import RegistryFormatError, parse_registry
from smsgate.domain.phones import normalise
from smsgate.domain.pricing import TariffRule
from smsgate.errors import ConfigError, SmsgateError
from smsgate.logs import configure_logging
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.services.senders import SenderStatus

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return uvloop.run(coro)


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


@contextlib.asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[Services]:
    await migrate_database(settings)
    async with open_services(settings, SystemClock()) as services:
        yield services


def _with_services(ctx: click.Context, action: Callable[[Services], Awaitable[T]]) -> T:
    async def main() -> T:
        async with _services(_settings(ctx)) as services:
            return await action(services)

    try:
        return _run(main())
    except SmsgateError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML configuration file (default: $SMSGATE_CONFIG, else built-in defaults).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """smsgate: a self-hosted multi-channel messaging gateway."""
    try:
        ctx.obj = load_settings(config_path, os.environ)
    except ConfigError as exc:
        click.echo(f"smsgate: invalid configuration: {exc}", err=True)
        sys.exit(2)


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(smsgate.__version__)


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema."""
    settings = _settings(ctx)
    try:
        applied = _run(migrate_database(settings))
    except SmsgateError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"schema up to date ({len(applied)} migration(s) applied)")


@main.command()
@click.option(
    "--only",
    default=",".join(LISTENERS),
    show_default=True,
    help="Comma-separated listeners to start.",
)
@click.pass_context
def run(ctx: click.Context, only: str) -> None:
    """Run the gateway (all listeners, or those named by --only)."""
    settings = _settings(ctx)
    names = frozenset(name.strip() for name in only.split(",") if name.strip())
    unknown = names - set(LISTENERS)
    if unknown:
        raise click.BadParameter(
            f"unknown listener(s) {', '.join(sorted(unknown))}; available: {', '.join(LISTENERS)}",
            param_hint="--only",
        )
    configure_logging(settings.log.level, settings.log.format)
    # The SQLite writer thread gives up the GIL inside every statement and then waits for the event
    # loop thread to hand it back; with the default 5 ms switch interval that wait dominates a batch.
    sys.setswitchinterval(settings.runtime.gil_switch_interval_us / 1_000_000)
    try:
        _run(_serve(settings, names))
    except (SmsgateError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


async def _serve(settings: Settings, names: frozenset[str]) -> None:
    await migrate_database(settings)
    async with Gateway(settings, SystemClock(), only=names) as gateway:
        assert gateway.services is not None
        demo = await ensure_demo_account(gateway.services)
        credentials_file = Path(settings.data_dir) / "demo-credentials.txt"
        host = settings.bind_host if ":" not in settings.bind_host else f"[{settings.bind_host}]"
        base_url = f"http://{host}:{gateway.ports.get('http', settings.http.port)}"
        if demo is not None:
            banner = demo_banner(demo, base_url)
            save_demo_credentials(credentials_file, banner)
            click.echo(banner)
        elif credentials_file.exists():
            click.echo(f"\n  demo credentials: {credentials_file}\n")
        for name, port in gateway.ports.items():
            click.echo(f"  {name} listening on {settings.bind_host}:{port}")
        click.echo(f"  health: {base_url}/health")
        sys.stdout.flush()  # the banner must reach a pipe (tee, a supervisor's log) at once
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, gateway.stop)
        await gateway.wait()


@main.group()
def account() -> None:
    """Manage accounts."""


@account.command("create")
@click.argument("login")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--balance", default="0", show_default=True)
@click.option("--currency", default=None, help="Default: billing.currency.")
@click.option("--test-mode", is_flag=True, help="Virtual sending: nothing sent, nothing charged.")
@click.pass_context
def account_create(
    ctx: click.Context,
    login: str,
    password: str,
    balance: str,
    currency: str | None,
    test_mode: bool,
) -> None:
    """Create an account."""
    amount = _amount(balance)
    cur = currency or _settings(ctx).billing.currency

    async def action(services: Services) -> None:
        record = await services.accounts.create(
            login, password, balance=amount, currency=cur, test_mode=test_mode
        )
        click.echo(f"created account {record.login} (id {record.id})")

    _with_services(ctx, action)


@account.command("set")
@click.argument("login")
@click.option("--password", default=None)
@click.option("--smpp-password", default=None, help="Separate password for SMPP binds (≤ 8).")
@click.option("--allow-ip", multiple=True, help="Allowed client IP or CIDR (repeat); '' clears.")
@click.option("--callback-url", default=None)
@click.option("--callback-secret", default=None)
@click.option("--test-mode", type=click.Choice(["on", "off"]), default=None)
@click.option("--credit", default=None, help="Credit limit: the balance may go down to -credit.")
@click.option("--sender", default=None, help="Default sender name ('' clears).")
@click.option("--disable/--enable", "disabled", default=None)
@click.pass_context
def account_set(
    ctx: click.Context,
    login: str,
    password: str | None,
    smpp_password: str | None,
    allow_ip: tuple[str, ...],
    callback_url: str | None,
    callback_secret: str | None,
    test_mode: str | None,
    credit: str | None,
    sender: str | None,
    disabled: bool | None,
) -> None:
    """Change an account's settings."""
    changes = AccountChanges(
        password=password,
        smpp_password=smpp_password,
        allowed_ips=",".join(allow_ip) if allow_ip else None,
        callback_url=callback_url,
        callback_secret=callback_secret,
        test_mode=None if test_mode is None else test_mode == "on",
        credit_limit=_amount(credit) if credit is not None else None,
        default_sender=sender,
        disabled=disabled,
    )

    async def action(services: Services) -> None:
        record = await services.accounts.change(login, changes)
        click.echo(f"updated account {record.login}")

    _with_services(ctx, action)


@account.command("topup")
@click.argument("login")
@click.argument("amount")
@click.pass_context
def account_topup(ctx: click.Context, login: str, amount: str) -> None:
    """Add AMOUNT to the balance; to deduct, give a negative amount after --."""
    value = _amount(amount)

    async def action(services: Services) -> None:
        balance = await services.accounts.top_up(login, value)
        click.echo(f"balance of {login.lower()}: {display(balance)}")

    _with_services(ctx, action)


@account.command("apikey")
@click.argument("login")
@click.option("--name", default="", help="A label for the key.")
@click.pass_context
def account_apikey(ctx: click.Context, login: str, name: str) -> None:
    """Create an API key and print it (it is shown only this once)."""

    async def action(services: Services) -> None:
        record, key = await services.accounts.new_api_key(login, name)
        click.echo(key)
        click.echo(f"(key id {record.id}; revoke with `smsgate account revoke-key`)", err=True)

    _with_services(ctx, action)


@account.command("keys")
@click.argument("login")
@click.pass_context
def account_keys(ctx: click.Context, login: str) -> None:
    """List an account's API keys (prefixes only)."""

    async def action(services: Services) -> None:
        for key in await services.accounts.api_keys(login):
            state = "revoked" if key.revoked_at is not None else "active"
            click.echo(f"{key.id}\t{key.prefix}…\t{state}\t{key.name}")

    _with_services(ctx, action)


@account.command("revoke-key")
@click.argument("login")
@click.argument("key_id", type=int)
@click.pass_context
def account_revoke_key(ctx: click.Context, login: str, key_id: int) -> None:
    """Revoke an API key by its id (see `account keys`)."""

    async def action(services: Services) -> None:
        await services.accounts.revoke_api_key(login, key_id)
        click.echo(f"revoked key {key_id}")

    _with_services(ctx, action)


@account.command("list")
@click.pass_context
def account_list(ctx: click.Context) -> None:
    """List accounts."""

    async def action(services: Services) -> None:
        click.echo("id\tlogin\tbalance\tcurrency\tflags")
        for rec in await services.accounts.list():
            flags = [
                name for name, on in (("test", rec.test_mode), ("disabled", rec.disabled)) if on
            ]
            click.echo(
                f"{rec.id}\t{rec.login}\t{display(rec.balance)}\t{rec.currency}\t{','.join(flags)}"
            )

    _with_services(ctx, action)


@main.group()
def tariff() -> None:
    """Manage tariffs (price per message part)."""


_TYPES = {member.name.lower(): member for member in MessageType}


def _rule(
    price: Decimal, country: str | None, operator: str | None, msg_type: str | None, plan: int
) -> TariffRule:
    return TariffRule(
        price=price,
        country=country.upper() if country else None,
        operator=operator or None,
        msg_type=_TYPES[msg_type] if msg_type else None,
        plan=plan,
    )


_tariff_keys = [
    click.option("--country", default=None, help="ISO 3166 alpha-2 code, e.g. RU (default: any)."),
    click.option("--operator", default=None, help="Operator name (default: any)."),
    click.option("--type", "msg_type", type=click.Choice(sorted(_TYPES)), default=None),
    click.option("--plan", default=0, show_default=True, help="Tariff plan (0 = platform)."),
]


def _with_tariff_keys(func: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_tariff_keys):
        func = option(func)
    return func


@tariff.command("set")
@click.argument("price")
@_with_tariff_keys
@click.pass_context
def tariff_set(
    ctx: click.Context,
    price: str,
    country: str | None,
    operator: str | None,
    msg_type: str | None,
    plan: int,
) -> None:
    """Set the PRICE of one part for the given keys (none given: the default price)."""
    rule = _rule(_amount(price), country, operator, msg_type, plan)

    async def action(services: Services) -> None:
        await services.tariffs.set(rule)
        click.echo(f"tariff set: {_describe(rule)}")

    _with_services(ctx, action)


@tariff.command("delete")
@_with_tariff_keys
@click.pass_context
def tariff_delete(
    ctx: click.Context, country: str | None, operator: str | None, msg_type: str | None, plan: int
) -> None:
    """Delete the tariff rule with exactly these keys."""
    rule = _rule(Decimal(0), country, operator, msg_type, plan)

    async def action(services: Services) -> None:
        if not await services.tariffs.delete(rule):
            raise click.ClickException("no such tariff rule")
        click.echo("deleted")

    _with_services(ctx, action)


@tariff.command("list")
@click.pass_context
def tariff_list(ctx: click.Context) -> None:
    """List tariff rules."""

    async def action(services: Services) -> None:
        for rule in await services.tariffs.rules():
            click.echo(_describe(rule))

    _with_services(ctx, action)


def _describe(rule: TariffRule) -> str:
    msg_type = rule.msg_type.name.lower() if rule.msg_type is not None else "*"
    return (
        f"plan {rule.plan}\tcountry {rule.country or '*'}\toperator {rule.operator or '*'}"
        f"\ttype {msg_type}\tprice {display(rule.price)}"
    )


def _amount(text: str) -> Decimal:
    try:
        return parse_amount(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.group()
def numbering() -> None:
    """The numbering plan: operator, region and MCC/MNC of numbers."""


@numbering.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def numbering_import(ctx: click.Context, path: str) -> None:
    """Replace the numbering plan with a registry file (DEF/ABC-code CSV: ;-separated, UTF-8)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as lines:
            ranges = list(parse_registry(lines))
    except (RegistryFormatError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None

    async def action(services: Services) -> None:
        with click.progressbar(length=len(ranges), label="importing ranges") as bar:
            count = await services.numbering.import_ranges(ranges)
            bar.update(count)
        click.echo(f"imported {count} ranges")

    _with_services(ctx, action)


@numbering.command("port")
@click.argument("phone")
@click.argument("operator")
@click.pass_context
def numbering_port(ctx: click.Context, phone: str, operator: str) -> None:
    """Record that PHONE was ported to OPERATOR (number portability)."""

    async def action(services: Services) -> None:
        number = await services.numbering.set_port(phone, operator)
        click.echo(f"{number} → {operator}")

    _with_services(ctx, action)


@numbering.command("lookup")
@click.argument("phone")
@click.pass_context
def numbering_lookup(ctx: click.Context, phone: str) -> None:
    """Show what the plan says about PHONE."""

    async def action(services: Services) -> None:
        info = (await services.numbering.plan()).lookup(normalise(phone))
        if info is None:
            raise click.ClickException("no information for this number")
        click.echo(
            f"{info.phone}\t{info.country}\t{info.operator}\t{info.region}\t{info.mcc}{info.mnc}"
        )

    _with_services(ctx, action)


@main.group()
def sender() -> None:
    """Sender names of accounts."""


@sender.command("add")
@click.argument("login")
@click.argument("name")
@click.option("--approve", is_flag=True, help="Make it active at once.")
@click.pass_context
def sender_add(ctx: click.Context, login: str, name: str, approve: bool) -> None:
    """Register sender NAME for LOGIN."""

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        await services.senders.add(account, name, approve=approve)
        click.echo(f"sender {name} added" + (" and approved" if approve else ""))

    _with_services(ctx, action)


@sender.command("approve")
@click.argument("login")
@click.argument("name")
@click.option("--reject", is_flag=True, help="Reject instead of approving.")
@click.pass_context
def sender_approve(ctx: click.Context, login: str, name: str, reject: bool) -> None:
    """Approve (or reject) a sender name of LOGIN."""
    status = SenderStatus.REJECTED if reject else SenderStatus.ACTIVE

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        await services.senders.set_status(account, name, status)
        click.echo(f"sender {name}: {status.name.lower()}")

    _with_services(ctx, action)


@sender.command("list")
@click.argument("login")
@click.pass_context
def sender_list(ctx: click.Context, login: str) -> None:
    """List the sender names of LOGIN."""

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        for record in await services.senders.list(account):
            click.echo(f"{record.id}\t{record.name}\t{SenderStatus(record.status).name.lower()}")

    _with_services(ctx, action)
