"""``smsgate account …``."""

from __future__ import annotations

import click

from smsgate.cli.common import amount_option, settings_of, with_services
from smsgate.domain.money import display
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services


@click.group()
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
    amount = amount_option(balance)
    cur = currency or settings_of(ctx).billing.currency

    async def action(services: Services) -> None:
        record = await services.accounts.create(
            login, password, balance=amount, currency=cur, test_mode=test_mode
        )
        click.echo(f"created account {record.login} (id {record.id})")

    with_services(ctx, action)


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
        credit_limit=amount_option(credit) if credit is not None else None,
        default_sender=sender,
        disabled=disabled,
    )

    async def action(services: Services) -> None:
        if callback_url:  # refused before it is stored (issue 8: no private addresses)
            await services.callbacks.check_url(callback_url)
        record = await services.accounts.change(login, changes)
        click.echo(f"updated account {record.login}")

    with_services(ctx, action)


@account.command("topup")
@click.argument("login")
@click.argument("amount")
@click.pass_context
def account_topup(ctx: click.Context, login: str, amount: str) -> None:
    """Add AMOUNT to the balance; to deduct, give a negative amount after --."""
    value = amount_option(amount)

    async def action(services: Services) -> None:
        balance = await services.accounts.top_up(login, value)
        click.echo(f"balance of {login.lower()}: {display(balance)}")

    with_services(ctx, action)


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

    with_services(ctx, action)


@account.command("keys")
@click.argument("login")
@click.pass_context
def account_keys(ctx: click.Context, login: str) -> None:
    """List an account's API keys (prefixes only)."""

    async def action(services: Services) -> None:
        for key in await services.accounts.api_keys(login):
            state = "revoked" if key.revoked_at is not None else "active"
            click.echo(f"{key.id}\t{key.prefix}…\t{state}\t{key.name}")

    with_services(ctx, action)


@account.command("revoke-key")
@click.argument("login")
@click.argument("key_id", type=int)
@click.pass_context
def account_revoke_key(ctx: click.Context, login: str, key_id: int) -> None:
    """Revoke an API key by its id (see `account keys`)."""

    async def action(services: Services) -> None:
        await services.accounts.revoke_api_key(login, key_id)
        click.echo(f"revoked key {key_id}")

    with_services(ctx, action)


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

    with_services(ctx, action)
