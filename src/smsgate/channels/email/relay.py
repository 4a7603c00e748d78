"""Connections to the SMTP relay: a small pool, reused, reconnected, and a relay state.

At most ``pool_size`` connections are open; a hand-over borrows one, sends over it and gives it back.
A connection that failed is closed, not returned; a returned one idle for more than ``IDLE_CHECK_S``
is checked with NOOP before reuse (relays drop idle clients).

The relay is UP after any successful connect (TLS and AUTH included) and DOWN after a connect fails
(refused, timed out, greeting or AUTH refused). While DOWN it is unavailable, so the dispatcher keeps
its messages queued; ``reconnect_s`` after the failure it becomes available again for one more try
(the next hand-over connects; success makes it UP, failure DOWN for another ``reconnect_s``). No
background task polls the relay: the clock alone decides, so tests drive it with a manual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiosmtplib

from smsgate.clock import Clock
from smsgate.config import EmailSettings

log = logging.getLogger(__name__)

IDLE_CHECK_S = 10.0


class RelayState(enum.Enum):
    UP = "up"
    DOWN = "down"


class RelayUnavailable(Exception):
    """The relay could not be reached or refused the session (greeting, TLS or AUTH)."""


class ConnectionBroken(Exception):
    """The connection in use failed mid-transaction; it is closed and not reused."""


@dataclass(slots=True)
class _Idle:
    smtp: aiosmtplib.SMTP
    since: float


class RelayPool:
    """The pool of connections to one relay (module docstring)."""

    def __init__(self, settings: EmailSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.pool_size)
        self._idle: list[_Idle] = []
        self.state = RelayState.UP
        self._retry_at = 0.0
        self.connects = 0  # connections opened so far (for tests and metrics)

    @property
    def available(self) -> bool:
        return self.state is RelayState.UP or self._clock.monotonic() >= self._retry_at

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected, greeted (and authenticated) client; RelayUnavailable when there is none.

        Raise ConnectionBroken inside the block to have the connection closed instead of reused.
        """
        async with self._slots:
            smtp = await self._take()
            try:
                yield smtp
            except BaseException:
                smtp.close()
                raise
            self._idle.append(_Idle(smtp, self._clock.monotonic()))

    async def close(self) -> None:
        """QUIT every idle connection (each bounded by the timeout; failures only logged)."""
        idle, self._idle = self._idle, []
        for entry in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await entry.smtp.quit(timeout=self._settings.connect_timeout)
            entry.smtp.close()

    async def _take(self) -> aiosmtplib.SMTP:
        while self._idle:
            entry = self._idle.pop()
            if not entry.smtp.is_connected:
                continue
            if self._clock.monotonic() - entry.since < IDLE_CHECK_S:
                return entry.smtp
            try:
                await entry.smtp.noop()
                return entry.smtp
            except (aiosmtplib.SMTPException, OSError):
                entry.smtp.close()
        return await self._connect()

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self._settings
        smtp = aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            username=settings.username or None,
            password=settings.password or None,
            local_hostname=settings.helo_name or socket.gethostname(),
            timeout=settings.timeout,
            use_tls=settings.tls == "implicit",
            start_tls=settings.tls == "starttls",
            validate_certs=settings.verify_tls,
        )
        try:
            await smtp.connect(timeout=settings.connect_timeout)
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            smtp.close()
            self._down(exc)
            raise RelayUnavailable(f"{settings.host}:{settings.port}: {exc}") from exc
        if self.state is RelayState.DOWN:
            log.info("e-mail relay %s:%d is up again", settings.host, settings.port)
        self.state = RelayState.UP
        self.connects += 1
        return smtp

    def _down(self, exc: BaseException) -> None:
        settings = self._settings
        if self.state is RelayState.UP:
            log.warning("e-mail relay %s:%d unavailable: %s", settings.host, settings.port, exc)
        self.state = RelayState.DOWN
        self._retry_at = self._clock.monotonic() + settings.reconnect
