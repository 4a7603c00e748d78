"""The ``smsgate`` command.

Every command reads the same configuration as ``run`` (``--config`` / ``SMSGATE_CONFIG`` and the
``SMSGATE_*`` environment), so it works against PostgreSQL as well as the default SQLite file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

import click

import smsgate
from smsgate import heap
from smsgate.app import LISTENERS, Gateway, migrate_database, open_services
from smsgate.cli.accounts import account
from smsgate.cli.callbacks import callbacks, monitor  # issue 8
from smsgate.cli.catalog import numbering, route, sender
from smsgate.cli.common import run_async, settings_of
from smsgate.cli.contacts import contacts
from smsgate.cli.email2sms import email2sms
from smsgate.cli.exports import export
from smsgate.cli.numbers import numbers  # inbound numbers
from smsgate.cli.simulator import simulator  # issue 5
from smsgate.cli.tariffs import tariff
from smsgate.cli.templates import optemplate  # issue 7
from smsgate.cli.workers import Supervisor, listener_ports, reserved_ports, worker_command
from smsgate.clock import SystemClock
from smsgate.config import Settings, load_settings
from smsgate.demo import DemoAccount, demo_banner, ensure_demo_account, save_demo_credentials
from smsgate.errors import ConfigError, SmsgateError
from smsgate.logs import configure_logging


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
    settings = settings_of(ctx)
    try:
        applied = run_async(migrate_database(settings))
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
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Gateway processes sharing the listeners (default: runtime.workers, 1).",
)
@click.option("--ready-fd", type=int, default=None, hidden=True)  # set by the supervisor
@click.pass_context
def run(ctx: click.Context, only: str, workers: int | None, ready_fd: int | None) -> None:
    """Run the gateway (all listeners, or those named by --only)."""
    settings = settings_of(ctx)
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
    count = workers if workers is not None else settings.runtime.workers
    try:
        if ready_fd is not None:
            run_async(_serve_worker(settings, names, ready_fd))
        elif count > 1:
            config_path = ctx.find_root().params.get("config_path")
            sys.exit(_supervise(settings, names, count, worker_command(config_path, only)))
        else:
            run_async(_serve(settings, names))
    except (SmsgateError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


async def _serve(settings: Settings, names: frozenset[str]) -> None:
    await migrate_database(settings)
    async with Gateway(settings, SystemClock(), only=names) as gateway:
        assert gateway.services is not None
        demo = await ensure_demo_account(gateway.services)
        heap.settle()
        _announce(settings, demo, gateway.ports)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, gateway.stop)
        await gateway.wait()


def _announce(settings: Settings, demo: DemoAccount | None, ports: Mapping[str, int]) -> None:
    """The start-up banner: demo credentials when just created, listeners, health URL."""
    credentials_file = Path(settings.data_dir) / "demo-credentials.txt"
    host = settings.bind_host if ":" not in settings.bind_host else f"[{settings.bind_host}]"
    base_url = f"http://{host}:{ports.get('http', settings.http.port)}"
    if demo is not None:
        banner = demo_banner(demo, base_url, credentials_file)
        save_demo_credentials(credentials_file, banner)
        click.echo(banner)
    elif credentials_file.exists():
        click.echo(f"\n  demo credentials: {credentials_file}\n")
    for name, port in ports.items():
        click.echo(f"  {name} listening on {settings.bind_host}:{port}")
    click.echo(f"  health: {base_url}/health")
    sys.stdout.flush()  # the banner must reach a pipe (tee, a supervisor's log) at once


async def _prepare(settings: Settings) -> DemoAccount | None:
    """What the supervisor does once for all its workers: migrations and the demo account."""
    await migrate_database(settings)
    async with open_services(settings, SystemClock()) as services:
        return await ensure_demo_account(services)


def _supervise(settings: Settings, names: frozenset[str], count: int, command: list[str]) -> int:
    """Run ``count`` workers until SIGINT/SIGTERM (cli/workers.py); the exit code."""
    demo = run_async(_prepare(settings))
    ports = listener_ports(settings, names)
    node = settings.node_id or socket.gethostname()
    with reserved_ports(settings.bind_host, ports) as overrides:
        supervisor = Supervisor(command, {**os.environ, **overrides}, count, node)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, supervisor.request_stop)
        supervisor.start_all()
        try:
            supervisor.wait_ready()
        except click.ClickException:
            supervisor.stop()
            raise
    _announce(settings, demo, {p.name: int(overrides.get(p.env, p.port)) for p in ports})
    click.echo(f"  {count} workers (node ids {node}-w0 … {node}-w{count - 1})")
    sys.stdout.flush()
    supervisor.watch()
    return supervisor.stop()


async def _serve_worker(settings: Settings, names: frozenset[str], ready_fd: int) -> None:
    """One worker of a supervisor: listen, report readiness, serve until told to stop or until
    the supervisor is gone."""
    parent = os.getppid()
    async with Gateway(settings, SystemClock(), only=names) as gateway:
        heap.settle()
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, gateway.stop)
        orphaned = asyncio.create_task(_stop_when_orphaned(parent, gateway))
        try:
            await gateway.wait()
        finally:
            orphaned.cancel()


async def _stop_when_orphaned(parent: int, gateway: Gateway) -> None:
    # A supervisor killed with SIGKILL cannot stop its workers; they notice they were re-parented.
    while os.getppid() == parent:  # noqa: ASYNC110 (nothing to wait on: polling is the way)
        await asyncio.sleep(1.0)
    gateway.stop()


for _group in (
    account,
    tariff,
    numbering,
    sender,
    route,
    email2sms,
    optemplate,
    contacts,
    export,
    callbacks,
    monitor,
    simulator,
    numbers,
):
    main.add_command(_group)
