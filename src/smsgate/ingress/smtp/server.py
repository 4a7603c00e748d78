"""The SMTP listeners (protocols.md §2.1): ``smtp.port`` with STARTTLS when a certificate is
configured, and ``smtp.tls_port`` with implicit TLS.

:class:`SmtpServer` is an async context manager: ``__aenter__`` returns once every socket listens
(``ports`` holds what was bound, useful with port 0); ``__aexit__`` stops accepting, lets mails in
the middle of DATA finish (up to ``drain_s``) and then closes every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import re
import ssl
import weakref
from collections.abc import Mapping
from typing import AnyStr

from aiosmtpd.smtp import SMTP, Session

from smsgate.config import SmtpSettings
from smsgate.ingress.smtp.handler import NULL_SENDER, SmtpIngress, capture_credentials
from smsgate.ingress.smtp.replies import SmtpReply

DRAIN_S = 10.0
PLAIN, IMPLICIT_TLS = "smtp", "smtps"
# aiosmtpd's own size refusals (at MAIL FROM … SIZE= and after DATA) begin with this.
_AIOSMTPD_TOO_BIG = "552 Error"
IDENT = "smsgate ESMTP"
# ``<local@domain>`` in dot-atom form: what almost every client sends. aiosmtpd parses addresses with
# the e-mail package's full RFC 5322 grammar, about 0.4 ms per address; this form skips it, anything
# else still goes through it.
_PLAIN_PATH = re.compile(r"<([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+)>(?=\s|$)")


class SmtpServerState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


def tls_context(settings: SmtpSettings) -> ssl.SSLContext | None:
    """The server TLS context from ``smtp.tls_cert``/``smtp.tls_key``, or None without them; a bad
    certificate fails here, at start-up."""
    if not settings.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


class _Session(Session):
    """aiosmtpd's session without the deprecation warning its own AUTH code triggers: every
    successful AUTH sets ``login_data``, and the setter logs a warning each time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._login: object = None

    @property
    def login_data(self) -> object:
        return self._login

    @login_data.setter
    def login_data(self, value: object) -> None:
        self._login = value


class GatewaySmtp(SMTP):
    """aiosmtpd's protocol with smsgate's adjustments:

    * its size refusals become ``552 5.3.4`` (codes.md §7);
    * plain ``<local@domain>`` paths are read without the full RFC 5322 parser;
    * ``MAIL FROM:<>`` (the null reverse-path, RFC 5321 §4.5.5), which aiosmtpd 1.4 refuses as a
      syntax error, reaches the handler as :data:`NULL_SENDER`, because e-mail2sms decides on it
      per account (``mfl[3]``);
    * DATA in progress is counted, so that closing the server lets it finish;
    * the size limit after DATA is the handler's, on the message without its quoting dots (RFC 1870
      §4, as ``SIZE=`` at MAIL FROM declares it): aiosmtpd counts the octets as they arrive, dots
      included, so while reading it is only held to twice the limit (a dot on every line at most).
    """

    def __init__(self, owner: SmtpServer, handler: SmtpIngress, **kwargs: object) -> None:
        super().__init__(handler, **kwargs)  # type: ignore[arg-type] # aiosmtpd's kwargs are untyped
        self._owner = owner

    def _create_session(self) -> Session:
        return _Session(self.loop)

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status.startswith(_AIOSMTPD_TOO_BIG):
            await super().push(SmtpReply.TOO_BIG.line())
            return
        await super().push(status)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        text = arg.strip()
        if text == NULL_SENDER or text.startswith(NULL_SENDER + " "):
            return NULL_SENDER, text[len(NULL_SENDER) :].strip()
        plain = _PLAIN_PATH.match(text)
        if plain is not None and ".." not in plain[1] and not plain[1].startswith("."):
            return plain[1], text[plain.end() :]
        return super()._getaddr(arg)

    async def smtp_DATA(self, arg: str) -> None:
        self._owner.data_started()
        limit = self.data_size_limit  # also EHLO's SIZE and the MAIL FROM check: kept for those
        self.data_size_limit = 2 * limit if limit else limit
        try:
            await super().smtp_DATA(arg)
        finally:
            self.data_size_limit = limit
            self._owner.data_finished()


class SmtpServer:
    """The SMTP ingress listeners; an async context manager (see the module docstring)."""

    def __init__(
        self,
        settings: SmtpSettings,
        handler: SmtpIngress,
        *,
        host: str,
        drain_s: float = DRAIN_S,
        reuse_port: bool = False,
    ) -> None:
        self._settings = settings
        self._reuse_port = reuse_port
        self._handler = handler
        self._host = host
        self._drain_s = drain_s
        self._tls = tls_context(settings)
        self._servers: dict[str, asyncio.Server] = {}
        self._connections: weakref.WeakSet[GatewaySmtp] = weakref.WeakSet()
        self._in_data = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = asyncio.Event()
        self.state = SmtpServerState.NEW
        self.ports: dict[str, int] = {}

    async def __aenter__(self) -> SmtpServer:
        if self.state is not SmtpServerState.NEW:
            raise RuntimeError(f"SMTP server cannot be opened in state {self.state.value}")
        self.state = SmtpServerState.RUNNING
        try:
            await self._listen(PLAIN, self._settings.port, starttls=self._tls, encrypted=None)
            if self._tls is not None and self._settings.tls_port is not None:
                await self._listen(
                    IMPLICIT_TLS, self._settings.tls_port, starttls=None, encrypted=self._tls
                )
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def listening(self) -> Mapping[str, bool]:
        """Each listener and whether it accepts connections (for ``/health``)."""
        return {name: server.is_serving() for name, server in self._servers.items()}

    def stop(self) -> None:
        """Stop accepting connections (synchronous, for signal handlers); :meth:`close` finishes."""
        for server in self._servers.values():
            server.close()
        self._closed.set()

    async def wait(self) -> None:
        """Until the server is stopped or closed."""
        await self._closed.wait()

    async def close(self) -> None:
        """Stop accepting, let DATA in progress finish (up to ``drain_s``), close connections."""
        if self.state is SmtpServerState.CLOSED:
            return
        self.state = SmtpServerState.CLOSED
        self.stop()
        # What is still in DATA after drain_s is cut off; its client gets no 250 and sends again.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self._drain_s)
        for connection in list(self._connections):
            if connection.transport is not None:
                connection.transport.close()
        for server in self._servers.values():
            await server.wait_closed()

    def data_started(self) -> None:
        self._in_data += 1
        self._idle.clear()

    def data_finished(self) -> None:
        self._in_data -= 1
        if self._in_data == 0:
            self._idle.set()

    async def _listen(
        self,
        name: str,
        port: int,
        *,
        starttls: ssl.SSLContext | None,
        encrypted: ssl.SSLContext | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        settings = self._settings

        def connection() -> GatewaySmtp:
            protocol = GatewaySmtp(
                self,
                self._handler,
                data_size_limit=settings.max_message,
                enable_SMTPUTF8=True,
                hostname=settings.hostname,
                ident=IDENT,
                tls_context=starttls,
                timeout=float(settings.timeout),
                # On the implicit-TLS port the connection is encrypted from the first octet.
                auth_require_tls=settings.auth_require_tls and encrypted is None,
                authenticator=capture_credentials,
                loop=loop,
            )
            self._connections.add(protocol)
            return protocol

        server = await loop.create_server(
            connection, self._host, port, ssl=encrypted, reuse_port=self._reuse_port or None
        )
        self._servers[name] = server
        self.ports[name] = server.sockets[0].getsockname()[1]
