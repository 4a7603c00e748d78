"""Helpers shared by the ``smsgate`` commands.

Every command reads the same configuration as ``run`` (``--config`` / ``SMSGATE_CONFIG`` and the
``SMSGATE_*`` environment), so it works against PostgreSQL as well as the default SQLite file.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import click
import uvloop

from smsgate.app import (
    migrate_database,
    open_services,
)
from smsgate.clock import SystemClock
from smsgate.config import Settings
from smsgate.domain.codes import MessageType
from smsgate.domain.money import parse_amount
from smsgate.errors import SmsgateError
from smsgate.services.container import Services

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return uvloop.run(coro)


def settings_of(ctx: click.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


@contextlib.asynccontextmanager
async def services_for(settings: Settings) -> AsyncIterator[Services]:
    await migrate_database(settings)
    async with open_services(settings, SystemClock()) as services:
        yield services


def with_services(ctx: click.Context, action: Callable[[Services], Awaitable[T]]) -> T:
    async def main() -> T:
        async with services_for(settings_of(ctx)) as services:
            return await action(services)

    try:
        return run_async(main())
    except SmsgateError as exc:
        raise click.ClickException(str(exc)) from None


MESSAGE_TYPES = {member.name.lower(): member for member in MessageType}


def amount_option(text: str) -> Decimal:
    try:
        return parse_amount(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
