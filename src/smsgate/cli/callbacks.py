"""``smsgate callbacks …`` (inspect and retry callback deliveries) and ``smsgate monitor …``
(ping.php task groups)."""

from __future__ import annotations

import click

from smsgate.cli.common import MESSAGE_TYPES, with_services
from smsgate.domain.callbacks import CallbackKind, DeliveryState, load_fields
from smsgate.domain.smsc_time import format_date
from smsgate.services.container import Services
from smsgate.services.monitoring import (
    DEFAULT_FAIL_TEMPLATE,
    DEFAULT_OK_TEMPLATE,
    DEFAULT_QUIET_S,
    NewGroup,
)
from smsgate.store.repos.callbacks import DeliveryRecord

STATES = {state.name.lower(): state for state in DeliveryState}


@click.group()
def callbacks() -> None:
    """Callbacks to accounts' handlers: what was sent, what failed, and why."""


def _when(moment: float | None) -> str:
    return format_date(moment, 0) if moment is not None else "-"


def _summary(record: DeliveryRecord) -> str:
    fields = dict(load_fields(record.fields))
    about = f"message {record.message_id} status {fields.get('status', '')}"
    if record.kind != CallbackKind.STATUS:
        about = f"{CallbackKind(record.kind).name.lower()} {fields.get('id', '')}"
    last = "" if record.last_error is None else f"  last error: {record.last_error}"
    return (
        f"{record.id}  {DeliveryState(record.state).name.lower():9}  tries {record.attempts}  "
        f"next {_when(record.next_attempt_at)}  {about}{last}"
    )


@callbacks.command("list")
@click.argument("login")
@click.option("--state", type=click.Choice(list(STATES)), default=None)
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.pass_context
def callbacks_list(ctx: click.Context, login: str, state: str | None, limit: int) -> None:
    """The account's newest callbacks first, with the last error of each (times in Moscow)."""

    async def action(services: Services) -> None:
        chosen = STATES[state] if state else None
        for record in await services.callbacks.deliveries(login, chosen, limit):
            click.echo(_summary(record))

    with_services(ctx, action)


@callbacks.command("show")
@click.argument("login")
@click.argument("delivery_id", type=int)
@click.pass_context
def callbacks_show(ctx: click.Context, login: str, delivery_id: int) -> None:
    """One callback: its fields, state, tries and last error."""

    async def action(services: Services) -> None:
        record = await services.callbacks.delivery(login, delivery_id)
        click.echo(f"delivery id:   {record.id}")
        click.echo(f"kind:          {CallbackKind(record.kind).name.lower()}")
        click.echo(f"state:         {DeliveryState(record.state).name.lower()}")
        click.echo(f"tries:         {record.attempts}")
        click.echo(f"created:       {_when(record.created_at)}")
        click.echo(f"last try:      {_when(record.last_attempt_at)}")
        click.echo(f"next try:      {_when(record.next_attempt_at)}")
        click.echo(f"given up at:   {_when(record.give_up_at)}")
        click.echo(f"last status:   {record.last_status if record.last_status else '-'}")
        click.echo(f"last error:    {record.last_error or '-'}")
        for name, value in load_fields(record.fields):
            click.echo(f"  {name} = {value}")

    with_services(ctx, action)


@callbacks.command("retry")
@click.argument("login")
@click.argument("delivery_ids", type=int, nargs=-1)
@click.pass_context
def callbacks_retry(ctx: click.Context, login: str, delivery_ids: tuple[int, ...]) -> None:
    """Try failed callbacks again (those named, or every failed one of the account)."""

    async def action(services: Services) -> None:
        count = await services.callbacks.retry(login, list(delivery_ids) or None)
        click.echo(f"{count} callback(s) queued again")

    with_services(ctx, action)


@click.group()
def monitor() -> None:
    """Monitoring task groups for ping.php (event notifications)."""


@monitor.command("add")
@click.argument("login")
@click.option("--name", required=True, help="What the group watches.")
@click.option("--phones", required=True, help="Comma-separated contacts to notify.")
@click.option("--type", "kind", type=click.Choice(list(MESSAGE_TYPES)), default="sms")
@click.option("--sender", default=None)
@click.option("--fail-template", default=DEFAULT_FAIL_TEMPLATE, show_default=True)
@click.option("--ok-template", default=DEFAULT_OK_TEMPLATE, show_default=True)
@click.option(
    "--quiet",
    type=click.IntRange(0, 7 * 86400),
    default=DEFAULT_QUIET_S,
    show_default=True,
    help="Seconds within which the same ping is not sent again.",
)
@click.pass_context
def monitor_add(
    ctx: click.Context,
    login: str,
    name: str,
    phones: str,
    kind: str,
    sender: str | None,
    fail_template: str,
    ok_template: str,
    quiet: int,
) -> None:
    """Create a task group; prints the id that ping.php's ``id`` names."""
    group = NewGroup(
        name=name,
        phones=phones,
        msg_type=MESSAGE_TYPES[kind],
        sender=sender,
        fail_template=fail_template,
        ok_template=ok_template,
        quiet_s=quiet,
    )

    async def action(services: Services) -> None:
        created = await services.monitoring.create(login, group)
        click.echo(f"task group {created.id} ({created.name})")

    with_services(ctx, action)


@monitor.command("list")
@click.argument("login")
@click.pass_context
def monitor_list(ctx: click.Context, login: str) -> None:
    """The account's task groups."""

    async def action(services: Services) -> None:
        for group in await services.monitoring.groups(login):
            kind = next(k for k, v in MESSAGE_TYPES.items() if v == group.msg_type)
            click.echo(
                f"{group.id}  {group.name}  {kind}  to {group.phones}  quiet {group.quiet_s}s  "
                f"fail: {group.fail_template!r}  ok: {group.ok_template!r}"
            )

    with_services(ctx, action)


@monitor.command("delete")
@click.argument("login")
@click.argument("group_id", type=int)
@click.pass_context
def monitor_delete(ctx: click.Context, login: str, group_id: int) -> None:
    """Delete a task group."""

    async def action(services: Services) -> None:
        await services.monitoring.delete(login, group_id)
        click.echo(f"deleted task group {group_id}")

    with_services(ctx, action)
