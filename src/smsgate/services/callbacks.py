"""Callbacks, the administrative side: checking handler URLs, inspecting and retrying deliveries,
and queueing the callbacks of events that have no event row (incoming SMS).

Delivery itself is the callback sender's job (``dispatch/callbacks.py``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.config import CallbacksSettings
from smsgate.domain.callbacks import (
    CallbackKind,
    DeliveryState,
    check_url_syntax,
    incoming_fields,
    is_public_address,
)
from smsgate.errors import SmsgateError
from smsgate.store.db import Database
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import callbacks as repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.callbacks import DeliveryRecord
from smsgate.store.writer import GroupCommitWriter


class CallbackError(SmsgateError):
    """An administrative request about callbacks that cannot be carried out."""


class CallbackService:
    def __init__(
        self, db: Database, writer: GroupCommitWriter, clock: Clock, settings: CallbacksSettings
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._settings = settings

    async def check_url(self, url: str) -> None:
        """Refuse a handler URL that is not http(s), or whose host resolves to a loopback,
        link-local or private address while ``callbacks.allow_private_networks`` is off.

        The sender checks again at every connect (DNS may change); this check gives the admin
        the error when the URL is configured.
        """
        problem = check_url_syntax(url)
        if problem is not None:
            raise CallbackError(problem)
        if self._settings.allow_private_networks:
            return
        host = urlsplit(url).hostname or ""
        for address in await _resolve(host):
            if not is_public_address(address):
                raise CallbackError(
                    f"{host} resolves to {address}, a loopback, link-local or private address; "
                    "the platform admin can allow it with callbacks.allow_private_networks"
                )

    async def deliveries(
        self, login: str, state: DeliveryState | None = None, limit: int = 50
    ) -> list[DeliveryRecord]:
        """The account's newest callback deliveries first."""
        account = await self._account(login)
        async with self._db.read() as conn:
            return await repo.list_for_account(conn, account.id, state, limit)

    async def delivery(self, login: str, delivery_id: int) -> DeliveryRecord:
        account = await self._account(login)
        async with self._db.read() as conn:
            found = await repo.get(conn, account.id, delivery_id)
        if found is None:
            raise CallbackError(f"no callback {delivery_id} for {login}")
        return found

    async def retry(self, login: str, delivery_ids: Sequence[int] | None = None) -> int:
        """Try failed deliveries of the account again (all, or those named), from the start of
        the schedule; how many."""
        account = await self._account(login)
        now = self._clock.now()
        max_age_s = float(self._settings.max_age)

        async def op(conn: AsyncConnection) -> int:
            return await repo.retry(conn, account.id, delivery_ids, now, max_age_s)

        return await self._writer.submit(op)

    async def incoming(
        self, account: AccountRecord, incoming_id: int, phone: str, mes: str, to: str, sent: float
    ) -> int | None:
        """Queue the callback of an incoming SMS for ``account``; its delivery id, or None when
        the account has no callback URL. Ingresses that store the SMS in a transaction of their
        own call :func:`smsgate.store.repos.callbacks.enqueue` inside it instead."""
        if not account.callback_url:
            return None
        fields = incoming_fields(incoming_id, phone, mes, to, sent, account.tz_minutes)
        now = self._clock.now()
        max_age_s = float(self._settings.max_age)

        async def op(conn: AsyncConnection) -> int:
            return await repo.enqueue(
                conn, account.id, CallbackKind.INCOMING, fields, now, max_age_s
            )

        return await self._writer.submit(op)

    async def _account(self, login: str) -> AccountRecord:
        async with self._db.read() as conn:
            account = await account_repo.get_by_login(conn, login.lower())
        if account is None:
            raise CallbackError(f"no account {login!r}")
        return account


async def _resolve(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        # A name that does not resolve yet is accepted: the sender checks every address it
        # connects to, so nothing private can be reached through it later either.
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
