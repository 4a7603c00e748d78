"""``smsgate export …``: deferred exports of an account's sent messages (downloads.php, issue 6).

``--wait`` (on ``create``) and ``get`` follow a task with a progress bar until it ends. A task that
no gateway has started yet is run by the command itself, under the same lease as the gateway's
runner, so it completes whether or not a gateway is running and is never run by both.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import BinaryIO

import click

from smsgate.app import export_runner
from smsgate.cli.common import with_services
from smsgate.domain.codes import ExportStatus
from smsgate.domain.exports import ExportRequestError, parse_filters, parse_task_name
from smsgate.domain.smsc_time import format_date
from smsgate.ingress.http.params import CHARSETS
from smsgate.services.container import Services
from smsgate.store.repos.exports import ExportTask

POLL_S = 0.3


@click.group()
def export() -> None:
    """Export an account's sent messages to CSV (the tasks of downloads.php)."""


@export.command("create")
@click.argument("login")
@click.option("--start", required=True, help="DD.MM.YYYY[ hh:mm], in the account's time zone.")
@click.option("--end", required=True, help="DD.MM.YYYY[ hh:mm]; a date alone: end of that day.")
@click.option("--name", default="export", show_default=True)
@click.option("--phone", default="", help="Only these recipients (comma list).")
@click.option("--status", default="", help="Only these statuses (comma list, e.g. 1,20).")
@click.option("--type", "types", default="", help="Only these message types (comma list).")
@click.option("--charset", type=click.Choice(sorted(set(CHARSETS.values()))), default="utf-8")
@click.option("--wait", is_flag=True, help="Follow the task with a progress bar until it ends.")
@click.pass_context
def export_create(
    ctx: click.Context,
    login: str,
    start: str,
    end: str,
    name: str,
    phone: str,
    status: str,
    types: str,
    charset: str,
    wait: bool,
) -> None:
    """Queue an export of LOGIN's messages sent between --start and --end."""

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        try:
            filters = parse_filters(start, end, phone, status, types, account.tz_minutes)
            task_name = parse_task_name(name)
        except ExportRequestError as exc:
            raise click.BadParameter(str(exc)) from None
        task = await services.exports.add(account.id, task_name, filters, charset)
        click.echo(f"export task {task.id} queued")
        if wait:
            await _follow(services, task)

    with_services(ctx, action)


@export.command("list")
@click.argument("login")
@click.option("--after-id", default=0, show_default=True, help="Tasks with a larger id.")
@click.option("--cnt", default=100, show_default=True)
@click.pass_context
def export_list(ctx: click.Context, login: str, after_id: int, cnt: int) -> None:
    """LOGIN's export tasks, oldest first."""

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        tasks = await services.exports.list(account.id, after_id=after_id, limit=cnt)
        click.echo("id\tstatus\tcreated\trows\tfile\tname")
        for task in tasks:
            created = format_date(task.created_at, account.tz_minutes)
            state = ExportStatus.of(task.status).name.lower()
            click.echo(
                f"{task.id}\t{state}\t{created}\t{task.rows_written}\t"
                f"{task.file_name or ''}\t{task.name}"
            )

    with_services(ctx, action)


@export.command("get")
@click.argument("login")
@click.argument("task_id", type=int)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Where to save the file (default: its name, in the current directory).",
)
@click.pass_context
def export_get(ctx: click.Context, login: str, task_id: int, output: str | None) -> None:
    """Save the file of LOGIN's task TASK_ID, following the task until it is done."""

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        task = await services.exports.get(account.id, task_id)
        if task is None:
            raise click.ClickException(f"no export task {task_id} of {account.login}")
        task = await _follow(services, task)
        if task.status != ExportStatus.DONE:
            raise click.ClickException(
                f"task {task_id} is {ExportStatus.of(task.status).name.lower()}"
            )
        file = await services.exports.open_file(account.id, task_id=task_id)
        target = Path(output or file.name)
        try:
            await asyncio.to_thread(_save, file.stream, target)
        finally:
            file.close()
        click.echo(f"{target} ({task.rows_written} rows, {file.charset})")

    with_services(ctx, action)


@export.command("cancel")
@click.argument("login")
@click.argument("task_id", type=int)
@click.pass_context
def export_cancel(ctx: click.Context, login: str, task_id: int) -> None:
    """Cancel LOGIN's waiting or running task TASK_ID."""

    async def action(services: Services) -> None:
        account = await services.accounts.get(login)
        await services.exports.cancel(account.id, task_id)
        click.echo(f"export task {task_id} cancelled")

    with_services(ctx, action)


async def _follow(services: Services, task: ExportTask) -> ExportTask:
    """Show a progress bar until the task ends; run it here if nobody else is running it."""
    if task.status not in (ExportStatus.WAITING, ExportStatus.RUNNING):
        return task
    running = asyncio.create_task(export_runner(services).run_task(task.id))
    try:
        with click.progressbar(length=1, label=f"export {task.id}", show_pos=True) as bar:
            while True:
                current = await services.exports.get(task.account_id, task.id)
                assert current is not None
                if current.rows_expected:
                    bar.length = current.rows_expected
                    bar.update(current.rows_written - bar.pos)
                if current.status not in (ExportStatus.WAITING, ExportStatus.RUNNING):
                    bar.update(max(bar.length or 0, 1) - bar.pos)
                    return current
                if running.done():
                    running.result()  # surfaces an error of the run started here
                    # Not claimable yet (another task of the account runs, or another runner
                    # holds it): try again, so that a lease left by a dead runner is taken over.
                    running = asyncio.create_task(export_runner(services).run_task(task.id))
                await services.clock.sleep(POLL_S)
    finally:
        if not running.done():
            running.cancel()
        await asyncio.gather(running, return_exceptions=True)


def _save(stream: BinaryIO, target: Path) -> None:
    with target.open("wb") as out:
        shutil.copyfileobj(stream, out)
