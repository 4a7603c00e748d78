"""``smsgate email2sms …``: per-account switches of free-form e-mail to SMS (protocols.md §2.4)."""

from __future__ import annotations

import dataclasses

import click

from smsgate.cli.common import with_services
from smsgate.domain.email_grammar import Email2SmsSettings
from smsgate.services.container import Services

ON_OFF = click.Choice(["on", "off"])
# Option name → (setting, whether "on" stores True): ``--service off`` is mfl[0] (disabled).
_SWITCHES = {
    "service": ("disabled", False),
    "no_subject": ("allow_no_subject", True),
    "no_text": ("allow_no_text", True),
    "no_return_path": ("allow_no_return_path", True),
    "translit": ("translit", True),
    "phones_in_body": ("phones_in_body", True),
    "phones_in_address": ("phones_in_address", True),
}


@click.group()
def email2sms() -> None:
    """E-mail to SMS settings of accounts (mails to <phone>@ the gateway's domain)."""


@email2sms.command("set")
@click.argument("login")
@click.option("--service", type=ON_OFF, default=None, help="E-mail2sms on or off (mfl[0]).")
@click.option("--no-subject", type=ON_OFF, default=None, help="Accept AUTH mails without Subject.")
@click.option("--no-text", type=ON_OFF, default=None, help="Accept mails without text.")
@click.option("--no-return-path", type=ON_OFF, default=None, help="Accept MAIL FROM:<>.")
@click.option("--translit", type=ON_OFF, default=None, help="Transliterate (translit=1).")
@click.option("--phones-in-body", type=ON_OFF, default=None, help="First body line adds numbers.")
@click.option(
    "--phones-in-address", type=ON_OFF, default=None, help="Several numbers joined by '.'."
)
@click.option("--max-length", type=click.IntRange(min=0), default=None, help="Cut (0: never).")
@click.pass_context
def email2sms_set(
    ctx: click.Context, /, login: str, max_length: int | None, **switches: str | None
) -> None:
    """Change LOGIN's e-mail2sms settings; options not given stay as they are."""
    changes: dict[str, bool | int] = {}
    for option, value in switches.items():
        if value is not None:
            setting, on_means = _SWITCHES[option]
            changes[setting] = (value == "on") == on_means
    if max_length is not None:
        changes["max_length"] = max_length

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        try:
            updated = await services.email2sms.change(account.id, **changes)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        click.echo(_describe(account.login, updated))

    with_services(ctx, action)


@email2sms.command("show")
@click.argument("login")
@click.pass_context
def email2sms_show(ctx: click.Context, login: str) -> None:
    """Show LOGIN's e-mail2sms settings."""

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        click.echo(_describe(account.login, await services.email2sms.settings(account.id)))

    with_services(ctx, action)


def _describe(login: str, settings: Email2SmsSettings) -> str:
    values = dataclasses.asdict(settings)
    lines = [f"e-mail2sms of {login}:"]
    lines += [f"  {name}\t{value}" for name, value in values.items()]
    return "\n".join(lines)
