"""Accept SMPP connections and run one :class:`SmppSession` (role SMSC) per connection.

No policy here: ``handler_factory`` makes a fresh handler per connection and the handler decides
(authentication, storage, rate limits). Used as an async context manager (style.md §2.13)::

    async with SmppListener(handler_factory, clock, host="127.0.0.1", port=0) as listener:
        listener.port          # the port the kernel chose

``__aenter__`` returns once the socket listens. ``__aexit__`` stops accepting, unbinds every bound
session (each bounded by its ``unbind_timeout_s``), closes the rest and awaits their tasks.
Opening twice, or after close, raises ``RuntimeError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from enum import Enum

from smsgate.clock import Clock
from smsgate.protocols.smpp.errors import SmppError
from smsgate.protocols.smpp.handler import SmppHandler
from smsgate.protocols.smpp.session import SessionSettings, SmppSession
from smsgate.protocols.smpp.states import Role

log = logging.getLogger(__name__)


class ListenerState(Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class SmppListener:
    def __init__(
        self,
        handler_factory: Callable[[], SmppHandler],
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: SessionSettings | None = None,
        ssl_context: ssl.SSLContext | None = None,
        reuse_port: bool = False,
    ) -> None:
        self._handler_factory = handler_factory
        self._reuse_port = reuse_port
        self._clock = clock
        self._host, self._requested_port = host, port
        self._settings = settings or SessionSettings()
        self._ssl = ssl_context
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.sessions: set[SmppSession] = set()
        self.state = ListenerState.NEW

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("listener is not open")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def __aenter__(self) -> SmppListener:
        if self.state is not ListenerState.NEW:
            raise RuntimeError(f"listener is {self.state.value}; it opens once")
        self._server = await asyncio.start_server(
            self._accept,
            self._host,
            self._requested_port,
            ssl=self._ssl,
            reuse_port=self._reuse_port or None,
        )
        self.state = ListenerState.OPEN
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.state = ListenerState.CLOSED
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            if session.state.is_bound:
                with contextlib.suppress(SmppError, ConnectionError):
                    await session.unbind()
            await session.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if self.state is not ListenerState.OPEN or task is None:
            writer.close()
            return
        self._connections.add(task)
        session = SmppSession(
            reader,
            writer,
            self._handler_factory(),
            role=Role.SMSC,
            clock=self._clock,
            settings=self._settings,
        )
        self.sessions.add(session)
        try:
            await session.serve()
        finally:
            self.sessions.discard(session)
            self._connections.discard(task)
