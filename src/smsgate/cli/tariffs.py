"""``smsgate tariff …``."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import click

from smsgate.cli.common import MESSAGE_TYPES, amount_option, with_services
from smsgate.domain.money import display
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services


@click.group()
def tariff() -> None:
    """Manage tariffs (price per message part)."""


def _rule(
    price: Decimal, country: str | None, operator: str | None, msg_type: str | None, plan: int
) -> TariffRule:
    return TariffRule(
        price=price,
        country=country.upper() if country else None,
        operator=operator or None,
        msg_type=MESSAGE_TYPES[msg_type] if msg_type else None,
        plan=plan,
    )


_tariff_keys = [
    click.option("--country", default=None, help="ISO 3166 alpha-2 code, e.g. RU (default: any)."),
    click.option("--operator", default=None, help="Operator name (default: any)."),
    click.option("--type", "msg_type", type=click.Choice(sorted(MESSAGE_TYPES)), default=None),
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
    rule = _rule(amount_option(price), country, operator, msg_type, plan)

    async def action(services: Services) -> None:
        await services.tariffs.set(rule)
        click.echo(f"tariff set: {_describe(rule)}")

    with_services(ctx, action)


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

    with_services(ctx, action)


@tariff.command("list")
@click.pass_context
def tariff_list(ctx: click.Context) -> None:
    """List tariff rules."""

    async def action(services: Services) -> None:
        for rule in await services.tariffs.rules():
            click.echo(_describe(rule))

    with_services(ctx, action)


def _describe(rule: TariffRule) -> str:
    msg_type = rule.msg_type.name.lower() if rule.msg_type is not None else "*"
    return (
        f"plan {rule.plan}\tcountry {rule.country or '*'}\toperator {rule.operator or '*'}"
        f"\ttype {msg_type}\tprice {display(rule.price)}"
    )
