"""An SMTP relay for the e-mail channel's tests: aiosmtpd in the test's own loop on 127.0.0.1.

The port is reserved at construction (a bound socket that does not listen refuses connections), so a
relay can be "down" and then come up on the same port: ``start()`` begins listening on it, ``stop()``
closes the listener and every open session. RCPT replies can be scripted per address: each scripted
reply is used once, in order, then the address is accepted.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import defaultdict, deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    smtputf8: bool

    def parsed(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass(slots=True)
class _Handler:
    received: list[ReceivedMail] = field(default_factory=list)
    rcpt_replies: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    mail_from_reply: str | None = None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.mail_from_reply is not None:
            return self.mail_from_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        scripted = self.rcpt_replies.get(address.lower())
        if scripted:
            return scripted.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(
            ReceivedMail(
                str(envelope.mail_from),
                tuple(envelope.rcpt_tos),
                content,
                envelope.smtp_utf8,
            )
        )
        return "250 2.0.0 queued"


class SmtpRelay:
    """The relay (module docstring); ``port`` is fixed for its whole life."""

    def __init__(
        self,
        *,
        smtputf8: bool = True,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        """``tls``: offer STARTTLS (and require it) with this context, or with ``implicit_tls``
        speak TLS from the first octet; ``credentials``: require AUTH with this login/password."""
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.handler = _Handler()
        self._smtputf8 = smtputf8
        self._tls = tls
        self._implicit_tls = implicit_tls
        self._credentials = credentials
        self.logins: list[str] = []
        self._server: asyncio.Server | None = None
        self._sessions: set[SMTP] = set()

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    def refuse_rcpt(self, address: str, *replies: str) -> None:
        """Answer RCPT TO:<address> with ``replies``, one per attempt, then accept it."""
        self.handler.rcpt_replies[address.lower()].extend(replies)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = self._sock
        if sock.fileno() == -1:  # closed by an earlier stop()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
        context = self._tls if self._implicit_tls else None
        self._server = await loop.create_server(self._session, sock=sock, ssl=context)

    async def stop(self) -> None:
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._sock.close()
        self._sessions.clear()

    def _session(self) -> SMTP:
        starttls = self._tls if not self._implicit_tls else None
        session = _TrackedSmtp(
            self.handler,
            hostname="relay.test",
            enable_SMTPUTF8=self._smtputf8,
            decode_data=False,
            tls_context=starttls,
            require_starttls=starttls is not None,
            authenticator=self._authenticate if self._credentials else None,
            # aiosmtpd cannot tell that an implicit-TLS connection is encrypted, and warns when AUTH
            # is required without its TLS: there AUTH is offered, not required (``logins`` shows
            # whether the client used it).
            auth_required=self._credentials is not None and not self._implicit_tls,
            auth_require_tls=starttls is not None,
        )
        session.sessions = self._sessions
        self._sessions.add(session)
        return session

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self._credentials is not None
            and (data.login.decode(), data.password.decode()) == self._credentials
        )
        if ok and isinstance(data, LoginPassword):
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)


class _QuietSession(Session):
    """aiosmtpd's session without the deprecation warning its own AUTH code triggers (every
    successful AUTH sets ``login_data``, whose setter warns)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._login: object = None

    @property
    def login_data(self) -> object:
        return self._login

    @login_data.setter
    def login_data(self, value: object) -> None:
        self._login = value


class _TrackedSmtp(SMTP):
    sessions: set[SMTP]

    def _create_session(self) -> Session:
        return _QuietSession(self.loop)

    def connection_lost(self, error: Exception | None) -> None:
        self.sessions.discard(self)
        super().connection_lost(error)
