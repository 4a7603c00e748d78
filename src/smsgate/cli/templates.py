"""``smsgate optemplate …``: the platform admin's side of operator templates (http-api.md §9).

Clients register templates with op_templates.php; the admin approves or rejects them here, and says
which operators (by their numbering-plan name) take only messages that match an approved template
(``require``): a message to such an operator that matches none ends with status 20, err 238.
"""

from __future__ import annotations

import click

from smsgate.cli.common import with_services
from smsgate.domain.templates import OPERATOR_CODES, OpTemplateStatus
from smsgate.services.container import Services


@click.group()
def optemplate() -> None:
    """Operator templates: review registrations, mark operators that require them."""


@optemplate.command("list")
@click.option("--account", "login", default=None, help="Only this account's templates.")
@click.option(
    "--status",
    type=click.Choice([s.name.lower() for s in OpTemplateStatus]),
    default=None,
    help="Only templates in this state.",
)
@click.pass_context
def optemplate_list(ctx: click.Context, login: str | None, status: str | None) -> None:
    """List operator template registrations."""

    async def action(services: Services) -> None:
        account = await services.accounts.get(login) if login else None
        chosen = OpTemplateStatus[status.upper()] if status else None
        for t in await services.templates.op_templates(account, status=chosen):
            state = OpTemplateStatus(t.status).name.lower()
            click.echo(
                f"{t.id}\taccount {t.account_id}\t{t.sender}\t{t.operator}\t{t.kind}"
                f"\t{state}\t{t.msg}"
            )

    with_services(ctx, action)


@optemplate.command("approve")
@click.argument("template_id", type=int)
@click.option("--reject", is_flag=True, help="Reject instead of approving.")
@click.pass_context
def optemplate_approve(ctx: click.Context, template_id: int, reject: bool) -> None:
    """Approve (or reject) the operator template TEMPLATE_ID."""
    status = OpTemplateStatus.REJECTED if reject else OpTemplateStatus.APPROVED

    async def action(services: Services) -> None:
        if not await services.templates.review(template_id, status):
            raise click.ClickException(f"no operator template {template_id}")
        click.echo(f"operator template {template_id}: {status.name.lower()}")

    with_services(ctx, action)


@optemplate.command("require")
@click.argument("operator")
@click.argument("code", type=click.Choice(OPERATOR_CODES))
@click.pass_context
def optemplate_require(ctx: click.Context, operator: str, code: str) -> None:
    """Messages to OPERATOR (its numbering-plan name) need an approved CODE template."""

    async def action(services: Services) -> None:
        await services.templates.require(operator, code)
        click.echo(f"{operator}: requires {code} templates")

    with_services(ctx, action)


@optemplate.command("unrequire")
@click.argument("operator")
@click.pass_context
def optemplate_unrequire(ctx: click.Context, operator: str) -> None:
    """OPERATOR no longer requires templates."""

    async def action(services: Services) -> None:
        if not await services.templates.unrequire(operator):
            raise click.ClickException(f"{operator} does not require templates")
        click.echo(f"{operator}: no templates required")

    with_services(ctx, action)


@optemplate.command("required")
@click.pass_context
def optemplate_required(ctx: click.Context) -> None:
    """List the operators that require templates."""

    async def action(services: Services) -> None:
        for operator, code in sorted((await services.templates.required_operators()).items()):
            click.echo(f"{operator}\t{code}")

    with_services(ctx, action)
