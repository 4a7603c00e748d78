"""``smsgate numbering …``, ``smsgate sender …`` and ``smsgate route …``."""

from __future__ import annotations

import click

from smsgate.cli.common import MESSAGE_TYPES, with_services
from smsgate.domain.codes import MessageType
from smsgate.domain.numbering import RegistryFormatError, parse_registry
from smsgate.domain.phones import normalise
from smsgate.domain.routing import Route
from smsgate.services.container import Services
from smsgate.services.senders import SenderStatus


@click.group()
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

    with_services(ctx, action)


@numbering.command("port")
@click.argument("phone")
@click.argument("operator")
@click.pass_context
def numbering_port(ctx: click.Context, phone: str, operator: str) -> None:
    """Record that PHONE was ported to OPERATOR (number portability)."""

    async def action(services: Services) -> None:
        number = await services.numbering.set_port(phone, operator)
        click.echo(f"{number} → {operator}")

    with_services(ctx, action)


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

    with_services(ctx, action)


@click.group()
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

    with_services(ctx, action)


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

    with_services(ctx, action)


@sender.command("list")
@click.argument("login")
@click.pass_context
def sender_list(ctx: click.Context, login: str) -> None:
    """List the sender names of LOGIN."""

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        for record in await services.senders.list(account):
            click.echo(f"{record.id}\t{record.name}\t{SenderStatus(record.status).name.lower()}")

    with_services(ctx, action)


@click.group()
def route() -> None:
    """The route table: which connector carries which messages."""


@route.command("add")
@click.argument("connector")
@click.option("--type", "msg_type", type=click.Choice(sorted(MESSAGE_TYPES)), default=None)
@click.option("--country", default=None, help="ISO 3166 alpha-2 code (default: any).")
@click.option("--operator", default=None, help="Operator name (default: any).")
@click.option("--prefix", default=None, help="Number prefix, e.g. 7916 (default: any).")
@click.option("--account", "login", default=None, help="Only this account's messages.")
@click.option("--position", default=0, help="Order among routes (default: after the last).")
@click.pass_context
def route_add(
    ctx: click.Context,
    connector: str,
    msg_type: str | None,
    country: str | None,
    operator: str | None,
    prefix: str | None,
    login: str | None,
    position: int,
) -> None:
    """Add a route to CONNECTOR. With no routes at all, everything goes to the simulator."""

    async def action(services: Services) -> None:
        account_id = (await services.accounts.get(login)).id if login else None
        new = Route(
            position=position,
            connector=connector,
            msg_type=int(MESSAGE_TYPES[msg_type]) if msg_type else None,
            country=country.upper() if country else None,
            operator=operator or None,
            prefix=prefix or None,
            account_id=account_id,
        )
        try:
            route_id = await services.routes.add(new)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"route {route_id} added")

    with_services(ctx, action)


@route.command("list")
@click.pass_context
def route_list(ctx: click.Context) -> None:
    """List routes in the order they are tried."""

    async def action(services: Services) -> None:
        for route_id, r in await services.routes.list():
            kind = MessageType(r.msg_type).name.lower() if r.msg_type is not None else "*"
            click.echo(
                f"{route_id}\tposition {r.position}\t{r.connector}\ttype {kind}"
                f"\tcountry {r.country or '*'}\toperator {r.operator or '*'}"
                f"\tprefix {r.prefix or '*'}\taccount {r.account_id or '*'}"
            )

    with_services(ctx, action)


@route.command("delete")
@click.argument("route_id", type=int)
@click.pass_context
def route_delete(ctx: click.Context, route_id: int) -> None:
    """Delete a route by its id (see `route list`)."""

    async def action(services: Services) -> None:
        if not await services.routes.delete(route_id):
            raise click.ClickException(f"no route {route_id}")
        click.echo(f"route {route_id} deleted")

    with_services(ctx, action)
