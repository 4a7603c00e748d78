"""E-mail to SMS: recipients and body grammars of the SMTP ingress (protocols.md §2.1, §2.3, §2.4).

Everything here is pure: a mail's recipients, its Subject and its text (``domain/email_text.py``) go
in, send.php parameters come out, so that a mail is processed by exactly the same parameter parsing
and sending path as ``/sys/send.php``. Refusals are :class:`MailError` carrying the SMSC request error.

* ``send@…`` — the colon grammar (§2.3)::

    <login>:<psw>:<id>:<time>[,<tz>]:<translit>[,<format>[,<sender>[,<test>]]]:<phones>:<mes>
    <login>:<psw>:<id>:<time>[,<tz>]:<translit>[,<format>[,<sender>[,<test>]]]::<list>

* ``<phone>@…`` — free-form e-mail2sms (§2.4): the Subject carries ``login:password`` (or
  ``:apikey``) unless the session authenticated with SMTP AUTH; the body is the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.email_text import MailError, MailText
from smsgate.domain.message_text import split_mail_subject

SEND_LOCAL_PART = "send"
COLON_FIELDS = 7
# codes.md §4.3: the numeric ``format`` sub-field → the send.php type flag it stands for.
FORMAT_FLAGS: tuple[tuple[str, str] | None, ...] = (
    None,
    ("flash", "1"),
    ("push", "1"),
    ("hlr", "1"),
    ("bin", "1"),
    ("bin", "2"),
    ("ping", "1"),
    ("mms", "1"),
    ("mail", "1"),
    ("call", "1"),
    ("viber", "1"),
    ("soc", "1"),
    ("tg", "1"),
)
MAIL_FORMAT = 8
_PHONE = r"\+?\d{7,15}"
_PHONE_LOCAL_PART = re.compile(rf"{_PHONE}(?:\.{_PHONE})*")
_PHONE_LINE = re.compile(rf"\s*{_PHONE}(?:\s*[,;]\s*{_PHONE})*\s*[,;]?\s*")
_SEPARATORS = re.compile(r"[,;\s]+")


class RecipientKind(Enum):
    """The two kinds of RCPT the ingress serves; one transaction carries only one of them."""

    COLON = "send@"
    PHONE = "<phone>@"


@dataclass(frozen=True, slots=True)
class MailRecipient:
    kind: RecipientKind
    # The numbers of a ``<phone>@`` address (several when joined by ``.``); empty for ``send@``.
    numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SendFields:
    """A send.php request read from a mail: the credentials and every other parameter."""

    login: str
    psw: str
    params: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Email2SmsSettings:
    """Per-account switches of free-form e-mail2sms (protocols.md §2.4, users.php ``mfl``/``mlen``)."""

    disabled: bool = False  # mfl[0]: e-mail2sms off (→ error 6)
    allow_no_subject: bool = False  # mfl[1]: accept AUTH mails without a Subject
    allow_no_text: bool = False  # mfl[2]: accept mails without text
    allow_no_return_path: bool = False  # mfl[3]: accept MAIL FROM:<>
    translit: bool = False  # mfl[4]: translit=1
    phones_in_body: bool = False  # mfl[5]: a first body line of numbers adds recipients
    phones_in_address: bool = False  # mfl[6]: several numbers joined by "." in one address
    max_length: int = 0  # mlen: cut the text to this many characters (0: no cut)


def classify_recipient(address: str) -> MailRecipient | None:
    """The kind of an RCPT address (local part case-insensitive, any domain), or None when it is
    neither ``send@`` nor ``<phone>@`` (→ ``550 5.1.1``)."""
    local, at, _ = address.rpartition("@")
    if not at:
        return None
    if local.lower() == SEND_LOCAL_PART:
        return MailRecipient(RecipientKind.COLON)
    if _PHONE_LOCAL_PART.fullmatch(local):
        return MailRecipient(RecipientKind.PHONE, tuple(local.split(".")))
    return None


def parse_colon_body(text: str) -> SendFields:
    """The send.php parameters of a ``send@`` mail's text (protocols.md §2.3).

    The text is split at its first six ``:``; fields 1–6 are trimmed, the seventh (text or list)
    is kept as it is. Sub-field values are checked here only where the grammar itself defines them
    (``format``, ``test``); everything else is left to the send.php parameter parsing.
    """
    fields = text.split(":", COLON_FIELDS - 1)
    if len(fields) < COLON_FIELDS:
        raise MailError(RequestErrorCode.PARAMETERS, "expected seven ':'-separated fields")
    login, psw, client_id, when, options, phones = (f.strip() for f in fields[:6])
    rest = fields[6]
    params: dict[str, str] = {}
    if client_id:
        params["id"] = client_id
    time, _, tz = (part.strip() for part in when.partition(","))
    if time and time != "0":
        params["time"] = time
    if tz:
        params["tz"] = tz
    params.update(_option_params(options))
    if phones:
        params["phones"] = phones
        params["mes"] = rest
    else:
        params["list"] = rest
    if params.get("mail") == "1" and "mes" in params:
        # ``mail`` without ``subj`` (always so here): the first line is the subject (§1.2).
        params["subj"], params["mes"] = split_mail_subject(rest)
    return SendFields(login=login, psw=psw, params=params)


def _option_params(field: str) -> dict[str, str]:
    """``translit[,format[,sender[,test]]]``; empty and missing sub-fields take their defaults."""
    subs = [s.strip() for s in field.split(",")] if field else []
    if len(subs) > 4:
        raise MailError(RequestErrorCode.PARAMETERS, "field 5 has more than four sub-fields")
    translit, format_index, sender, test = (subs + ["", "", "", ""])[:4]
    params: dict[str, str] = {}
    if translit:
        params["translit"] = translit
    if format_index:
        if not format_index.isdigit() or int(format_index) >= len(FORMAT_FLAGS):
            raise MailError(
                RequestErrorCode.PARAMETERS, f"format must be 0..{len(FORMAT_FLAGS) - 1}"
            )
        flag = FORMAT_FLAGS[int(format_index)]
        if flag is not None:
            params[flag[0]] = flag[1]
    if sender:
        params["sender"] = sender
    if test not in ("", "0", "1"):
        raise MailError(RequestErrorCode.PARAMETERS, "test must be 0 or 1")
    if test == "1":
        params["test"] = "1"
    return params


def subject_credentials(subject: str) -> tuple[str, str]:
    """``(login, psw)`` from a free-form mail's Subject: ``login:password``, or ``:apikey`` (empty
    login: the password is an API key). A Subject without ``:`` carries no credentials."""
    login, colon, psw = subject.strip().partition(":")
    if not colon:
        return "", ""
    return login.strip(), psw.strip()


def free_form_params(
    recipients: Sequence[MailRecipient],
    mail: MailText,
    settings: Email2SmsSettings,
    *,
    authenticated: bool,
    null_sender: bool,
) -> dict[str, str]:
    """The send.php parameters of a ``<phone>@`` mail for an account (protocols.md §2.4).

    ``authenticated``: the credentials came from SMTP AUTH, so the Subject is part of the text.
    ``null_sender``: the mail has no return path (``MAIL FROM:<>``).
    """
    if settings.disabled:
        raise MailError(RequestErrorCode.FORBIDDEN, "e-mail2sms is off for this account")
    numbers = [n for r in recipients for n in r.numbers]
    if not settings.phones_in_address and any(len(r.numbers) > 1 for r in recipients):
        raise MailError(RequestErrorCode.PARAMETERS, "several numbers in one address")
    if null_sender and not settings.allow_no_return_path:
        raise MailError(RequestErrorCode.PARAMETERS, "mail without a return path")
    if authenticated and not mail.subject and not settings.allow_no_subject:
        raise MailError(RequestErrorCode.PARAMETERS, "mail without a subject")
    body = mail.text
    if settings.phones_in_body:
        extra, body = _body_phones(body)
        numbers.extend(extra)
    if not body and not settings.allow_no_text:
        raise MailError(RequestErrorCode.PARAMETERS, "mail without text")
    text = f"{mail.subject}\n{body}" if authenticated and mail.subject else body
    text = text.strip()
    if settings.max_length > 0:
        text = text[: settings.max_length]
    params = {"phones": ",".join(numbers), "mes": text}
    if settings.translit:
        params["translit"] = "1"
    return params


def _body_phones(body: str) -> tuple[list[str], str]:
    """A first line made only of numbers (separated by ``,`` or ``;``): the numbers and the rest."""
    first, _, rest = body.partition("\n")
    if not _PHONE_LINE.fullmatch(first):
        return [], body
    return [n for n in _SEPARATORS.split(first) if n], rest.strip()
