"""``smsgate numbers …``: inbound numbers the platform offers for rent (receive_phones.php)."""

from __future__ import annotations

import click

from smsgate.cli.common import amount_option, with_services
from smsgate.domain.money import display
from smsgate.domain.smsc_time import format_date
from smsgate.services.container import Services


@click.group()
def numbers() -> None:
    """Manage inbound numbers offered for rent (receive_phones.php)."""


@numbers.command("add")
@click.argument("phone")
@click.option("--cost", required=True, help="Monthly price.")
@click.option("--country", default="", help="Shown to clients, e.g. RU.")
@click.pass_context
def numbers_add(ctx: click.Context, phone: str, cost: str, country: str) -> None:
    """Offer PHONE for rent at COST a month."""
    monthly = amount_option(cost)

    async def action(services: Services) -> None:
        number = await services.inbound_numbers.add(phone, monthly, country)
        click.echo(f"added {number} at {display(monthly)} a month")

    with_services(ctx, action)


@numbers.command("list")
@click.pass_context
def numbers_list(ctx: click.Context) -> None:
    """Every number, with its renter and the end of its paid period (Moscow time)."""

    async def action(services: Services) -> None:
        click.echo("phone\tcountry\tcost\trenter\tpaid_till\tnoprolong")
        for n in await services.inbound_numbers.catalogue():
            till = format_date(n.paid_till, 0) if n.paid_till is not None else ""
            click.echo(
                f"{n.phone}\t{n.country}\t{display(n.cost)}\t{n.login or ''}\t{till}\t"
                f"{int(n.noprolong)}"
            )

    with_services(ctx, action)


@numbers.command("remove")
@click.argument("phone")
@click.option("--force", is_flag=True, help="Withdraw a rented number too (no refund).")
@click.pass_context
def numbers_remove(ctx: click.Context, phone: str, force: bool) -> None:
    """Withdraw PHONE from rent."""

    async def action(services: Services) -> None:
        removed = await services.inbound_numbers.remove(phone, force=force)
        click.echo(f"removed {removed.phone}")

    with_services(ctx, action)
