"""The SMTP ingress handler: aiosmtpd hooks that turn mails into send.php requests (protocols.md §2).

aiosmtpd's ``SMTP`` protocol owns the grammar; this handler makes the decisions through its
``handle_<VERB>`` hooks and ``auth_<MECHANISM>`` methods, and calls the same services as send.php:

* RCPT sorts recipients into ``send@`` (colon grammar) and ``<phone>@`` (free-form) and refuses
  unknown, mixed and surplus ones;
* DATA reads the mail (``domain/email_text.py``), turns it into send.php parameters
  (``domain/email_grammar.py``), parses those exactly as send.php does, authenticates (SMTP AUTH,
  body or Subject credentials, with the IP lockout), takes a request slot and calls
  :meth:`SendingService.send`, which returns only after the group-commit writer has committed the
  messages. Only then is ``250`` sent;
* AUTH PLAIN/LOGIN check the account login with its password or an API key (failures count toward
  the IP lockout).

:meth:`SmtpIngress.handle_DATA` is the one place where exceptions become SMTP replies. The handler
never prices, debits or changes message state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from urllib.parse import unquote_to_bytes

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from smsgate.config import SmtpSettings
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.email_grammar import (
    RecipientKind,
    SendFields,
    classify_recipient,
    free_form_params,
    parse_colon_body,
    subject_credentials,
)
from smsgate.domain.email_text import MailError, read_mail
from smsgate.domain.logins import is_valid_login
from smsgate.errors import RequestError, StorageError
from smsgate.ingress.http.compat.send import client_id, parse_request
from smsgate.ingress.smtp.replies import (
    SmtpReply,
    SmtpReplyError,
    accepted_reply,
    request_error_reply,
)
from smsgate.services.auth import Credentials
from smsgate.services.container import Services
from smsgate.services.credentials import API_KEY_PREFIX
from smsgate.services.guards import request_fingerprint
from smsgate.services.sending import CostMode, SendOptions
from smsgate.store.repos.accounts import AccountRecord

log = logging.getLogger(__name__)

# ``MAIL FROM:<>``: the null reverse-path (RFC 5321 §4.5.5), as the server hands it to the hooks.
NULL_SENDER = "<>"
# Fingerprint paths of the duplicate-request limit: one per body grammar.
COLON_PATH, FREE_FORM_PATH = "smtp:send@", "smtp:phone@"


class SmtpIngress:
    """The aiosmtpd handler of the e-mail-to-SMS ingress."""

    def __init__(self, services: Services, settings: SmtpSettings) -> None:
        self._services = services
        self._settings = settings

    # --- envelope ---------------------------------------------------------------------------

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return SmtpReply.SENDER_OK.line()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        recipient = classify_recipient(address)
        if recipient is None:
            return SmtpReply.UNKNOWN_RECIPIENT.line()
        if len(envelope.rcpt_tos) >= self._settings.max_recipients:
            return SmtpReply.TOO_MANY_RECIPIENTS.line()
        first = classify_recipient(envelope.rcpt_tos[0]) if envelope.rcpt_tos else None
        if first is not None and first.kind is not recipient.kind:
            return SmtpReply.MIXED_RECIPIENTS.line()
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return SmtpReply.RECIPIENT_OK.line()

    # --- the mail ---------------------------------------------------------------------------

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """The reply to the mail: ``250`` only once its messages are committed."""
        ip = _peer_ip(session)
        try:
            return await self._deliver(session, envelope, ip)
        except SmtpReplyError as exc:
            return exc.line()
        except MailError as exc:
            await self._failed_send(ip, exc.code)
            return request_error_reply(RequestError(exc.code, exc.detail))
        except RequestError as exc:
            await self._failed_send(ip, exc.code)
            return request_error_reply(exc)
        except StorageError:
            log.exception("storage unavailable", extra={"ingress": "smtp"})
            return SmtpReply.UNAVAILABLE.line()

    async def handle_exception(self, error: Exception) -> str:
        """Anything unexpected: logged, answered with a transient failure, never a traceback."""
        log.error("SMTP session failed", exc_info=error, extra={"ingress": "smtp"})
        return SmtpReply.UNAVAILABLE.line()

    async def _deliver(self, session: Session, envelope: Envelope, ip: str) -> str:
        recipients = [r for r in map(classify_recipient, envelope.rcpt_tos) if r is not None]
        content = envelope.original_content or b""
        if len(content) > self._settings.max_message:
            raise SmtpReplyError(SmtpReply.TOO_BIG)
        mail = read_mail(content)
        session_account = _session_account(session)
        if recipients[0].kind is RecipientKind.COLON:
            fields = parse_colon_body(mail.text)
            account = await self._body_account(fields, session_account, ip)
            params, path = fields.params, COLON_PATH
        else:
            if session_account is None:
                login, psw = subject_credentials(mail.subject)
                account = await self._authenticate(login, psw, ip)
            else:
                account = session_account
            settings = await self._services.email2sms.settings(account.id)
            params = free_form_params(
                recipients,
                mail,
                settings,
                authenticated=session_account is not None,
                null_sender=envelope.mail_from == NULL_SENDER,
            )
            path = FREE_FORM_PATH
        return await self._send(account, params, ip, path)

    async def _send(
        self, account: AccountRecord, params: Mapping[str, str], ip: str, path: str
    ) -> str:
        """send.php with ``cost=0``: the same parameter parsing and the same service call."""
        raw = {"mes": unquote_to_bytes(params["mes"])} if "mes" in params else {}
        request = parse_request(params, raw)
        options = SendOptions(
            client_id=client_id(params),
            cost=CostMode.SEND,
            test=params.get("test") == "1",
            fingerprint=request_fingerprint(path, dict(params)),
            ip=ip,
        )
        guards = self._services.guards
        slot = await guards.acquire_slot(account.login)
        try:
            result = await self._services.sending.send(account, request, options)
        finally:
            await guards.release_slot(slot)
        return accepted_reply(result.parts, result.request_id)

    async def _body_account(
        self, fields: SendFields, session_account: AccountRecord | None, ip: str
    ) -> AccountRecord:
        """The account of a ``send@`` mail: the AUTH session's (a ``login`` field, when given, must
        name it), else the body's credentials."""
        if session_account is None:
            return await self._authenticate(fields.login, fields.psw, ip)
        if fields.login and fields.login.lower() != session_account.login:
            raise SmtpReplyError(SmtpReply.AUTH_FAILED)
        return session_account

    async def _authenticate(self, login: str, psw: str, ip: str) -> AccountRecord:
        """Credentials from a body or Subject: as send.php's ``login``/``psw`` (empty login: the
        password is an API key), with the same lockout."""
        if login and not is_valid_login(login):
            raise RequestError(RequestErrorCode.PARAMETERS, "malformed login")
        return await self._services.auth.authenticate(Credentials(login=login, psw=psw), ip)

    async def _failed_send(self, ip: str, code: RequestErrorCode) -> None:
        """A refused mail counts toward the failed-send lockout as a refused send.php does."""
        if code not in (RequestErrorCode.IP_BLOCKED, RequestErrorCode.TOO_MANY):
            await self._services.guards.send_outcome(ip, ok=False)

    # --- SMTP AUTH (PLAIN, LOGIN) -----------------------------------------------------------

    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:
        """AUTH PLAIN: aiosmtpd reads the credentials, we check them (async, with the lockout)."""
        return await self._check(server, await SMTP.auth_PLAIN(server, None, args))

    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._check(server, await SMTP.auth_LOGIN(server, None, args))

    async def _check(self, server: SMTP, read: AuthResult) -> AuthResult:
        if not read.success or not isinstance(read.auth_data, LoginPassword):
            return read  # the dialog failed; aiosmtpd has answered already
        assert server.session is not None
        ip = _peer_ip(server.session)
        try:
            login = read.auth_data.login.decode("utf-8")
            password = read.auth_data.password.decode("utf-8")
        except UnicodeDecodeError:
            login, password = "", ""
        try:
            account = await self._auth_login(login, password, ip)
        except RequestError as exc:
            return AuthResult(success=False, handled=False, message=request_error_reply(exc))
        except StorageError:
            return AuthResult(success=False, handled=False, message=SmtpReply.UNAVAILABLE.line())
        return AuthResult(success=True, auth_data=account, message=SmtpReply.AUTHENTICATED.line())

    async def _auth_login(self, login: str, password: str, ip: str) -> AccountRecord:
        """User = account login; password = the account password (or its MD5) or an API key."""
        auth = self._services.auth
        if not login or not is_valid_login(login):
            await auth.authenticate(Credentials(), ip)  # refused (error 2 or 4) and counted
            raise RequestError(RequestErrorCode.AUTHORISE)
        if not password.startswith(API_KEY_PREFIX):
            return await auth.authenticate(Credentials(login=login, psw=password), ip)
        account = await auth.authenticate(Credentials(apikey=password), ip)
        if account.login != login.lower():  # somebody else's key
            await self._services.guards.auth_failed(ip)
            raise RequestError(RequestErrorCode.AUTHORISE)
        return account


def capture_credentials(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    """aiosmtpd's (synchronous) authenticator: hands the credentials it read to :meth:`_check`,
    which verifies them asynchronously."""
    return AuthResult(success=True, handled=False, auth_data=auth_data)


def _session_account(session: Session) -> AccountRecord | None:
    data = session.auth_data
    return data if session.authenticated and isinstance(data, AccountRecord) else None


def _peer_ip(session: Session) -> str:
    peer: object = session.peer
    if isinstance(peer, Sequence) and not isinstance(peer, str) and peer:
        return str(peer[0])
    return "0.0.0.0"  # noqa: S104 - a value, not a bind
