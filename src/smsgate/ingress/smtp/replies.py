"""Every reply of the SMTP ingress, named once (codes.md §7, protocols.md §2.5).

Failures carry the SMSC error line as their text (``ERROR = N (description)``, plus ``, ID - <id>``
for errors 3, 6, 7 and 8), so a client reads the same answer it would get from send.php.
:func:`request_error_reply` is the one place where a request error becomes an SMTP reply.
"""

from __future__ import annotations

from enum import Enum

from smsgate.domain.codes import DUPLICATE_REQUEST, RequestErrorCode
from smsgate.errors import RequestError, SmsgateError


class SmtpReply(Enum):
    """An SMTP reply: code, enhanced status code (RFC 3463) and default text."""

    code: int
    enhanced: str
    text: str

    def __new__(cls, code: int, enhanced: str, text: str) -> SmtpReply:
        member = object.__new__(cls)
        member._value_ = (code, enhanced, text)
        member.code = code
        member.enhanced = enhanced
        member.text = text
        return member

    SENDER_OK = (250, "2.1.0", "OK")
    RECIPIENT_OK = (250, "2.1.5", "OK")
    # Accepted and durably stored; the text is ``OK - <n> SMS, ID - <id>``.
    ACCEPTED = (250, "2.0.0", "OK")
    AUTHENTICATED = (235, "2.7.0", "Authentication successful")
    UNKNOWN_RECIPIENT = (550, "5.1.1", "recipient must be send@<domain> or <phone>@<domain>")
    MIXED_RECIPIENTS = (550, "5.5.1", "send@ and <phone>@ recipients cannot share a mail")
    TOO_MANY_RECIPIENTS = (452, "4.5.3", "too many recipients")
    TOO_BIG = (552, "5.3.4", "message too big")
    AUTH_FAILED = (535, "5.7.8", "ERROR = 2 (authorise error)")
    IP_BLOCKED = (450, "4.7.1", "ERROR = 4 (IP is temporarily blocked)")
    TOO_MANY_REQUESTS = (451, "4.7.1", "ERROR = 9 (too many requests)")
    DUPLICATE = (550, "5.7.1", "ERROR = 9 (duplicate request, wait a minute)")
    BAD_REQUEST = (550, "5.6.0", "ERROR = 1 (parameters error)")
    REFUSED = (550, "5.7.1", "ERROR = 6 (message is forbidden)")
    BAD_NUMBER = (550, "5.1.3", "ERROR = 7 (invalid phone number)")
    UNAVAILABLE = (451, "4.3.0", "temporarily unable to store the message, try again later")

    def line(self, text: str | None = None) -> str:
        """The reply line, with ``text`` instead of the default text when given."""
        return f"{self.code} {self.enhanced} {text or self.text}"


class SmtpReplyError(SmsgateError):
    """A refusal that becomes ``reply`` on the wire (style.md §11)."""

    def __init__(self, reply: SmtpReply, text: str | None = None) -> None:
        super().__init__(reply.line(text))
        self.reply = reply
        self.text = text

    def line(self) -> str:
        return self.reply.line(self.text)


_BY_CODE = {
    RequestErrorCode.PARAMETERS: SmtpReply.BAD_REQUEST,
    RequestErrorCode.INVALID_DATE: SmtpReply.BAD_REQUEST,
    RequestErrorCode.AUTHORISE: SmtpReply.AUTH_FAILED,
    RequestErrorCode.NO_MONEY: SmtpReply.REFUSED,
    RequestErrorCode.FORBIDDEN: SmtpReply.REFUSED,
    RequestErrorCode.INVALID_PHONE: SmtpReply.BAD_NUMBER,
    RequestErrorCode.CANNOT_DELIVER: SmtpReply.BAD_NUMBER,
    RequestErrorCode.IP_BLOCKED: SmtpReply.IP_BLOCKED,
    RequestErrorCode.TOO_MANY: SmtpReply.TOO_MANY_REQUESTS,
}


def error_line(code: RequestErrorCode, description: str, request_id: int | str | None) -> str:
    """The SMSC error line: ``ERROR = 7 (invalid phone number), ID - 12``."""
    text = f"ERROR = {int(code)} ({description})"
    return text if request_id is None else f"{text}, ID - {request_id}"


def request_error_reply(exc: RequestError) -> str:
    """The SMTP reply for a refused request (codes.md §7)."""
    reply = _BY_CODE[exc.code]
    if exc.code is RequestErrorCode.TOO_MANY and exc.description == DUPLICATE_REQUEST:
        reply = SmtpReply.DUPLICATE
    return reply.line(error_line(exc.code, exc.description, exc.request_id))


def accepted_reply(parts: int, request_id: str | None) -> str:
    """``250 2.0.0 OK - <n> SMS, ID - <id>``: sent only after the messages are committed."""
    return SmtpReply.ACCEPTED.line(f"OK - {parts} SMS, ID - {request_id}")
