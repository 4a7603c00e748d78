"""Building the mail of a type-8 message (protocols.md §1.1 ``mail=1``). Pure: no I/O.

- From: the message's sender when it is an e-mail address (send.php accepts only an active sender of
  the account, services/senders.py); otherwise the channel's ``default_from``, with a non-empty
  sender name as its display name. The envelope sender (MAIL FROM, where bounces go) is always
  ``default_from``: smsgate's operator, not the account, receives the relay's bounces.
- Subject: the ``subj`` option, RFC 2047-encoded when it is not ASCII.
- Body: UTF-8, text/html when the text contains ``<html`` (an open-tracking pixel is added before
  ``</body>`` when tracking is on), text/plain otherwise; transfer-encoded to 7 bits (quoted-printable
  or base64), so that any relay carries it, with or without 8BITMIME.
- Attachments: multipart/mixed parts with RFC 2231 file names.
- Addresses with a non-ASCII domain are sent with the IDNA (punycode) form of the domain; only a
  non-ASCII local part needs the relay's SMTPUTF8.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from smsgate.clock import utc_datetime
from smsgate.domain.email_delivery import SUBJECT_OPTION, MailAttachment, is_html

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>.]+$")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_ASCII_POLICY = email.policy.SMTP.clone(cte_type="7bit")
_UTF8_POLICY = email.policy.SMTPUTF8.clone(cte_type="7bit")


class AddressError(ValueError):
    """An address the mail cannot be sent to or from."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP transaction of one mail: MAIL FROM, RCPT TO, the octets after DATA, and whether the
    relay must support SMTPUTF8."""

    sender: str
    recipient: str
    content: bytes
    smtputf8: bool


@dataclass(frozen=True, slots=True)
class MailParts:
    """What a mail is made of, from the message and the channel's settings."""

    message_id: str  # without the angle brackets
    to: str
    sender: str | None
    default_from: str
    subject: str
    text: str
    date: float
    attachments: Sequence[MailAttachment] = ()
    pixel_url: str | None = None


def is_address(text: str) -> bool:
    return bool(_ADDRESS.match(text))


def transport_address(address: str) -> tuple[str, bool]:
    """``address`` as it goes on the wire, and whether it needs SMTPUTF8 (a non-ASCII local part).

    A non-ASCII domain is converted to IDNA; AddressError when that is impossible.
    """
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        raise AddressError(f"not an e-mail address: {address!r}")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise AddressError(f"not an internationalised domain: {domain!r}") from None
    return f"{local}@{domain}", not local.isascii()


def compose(parts: MailParts) -> Envelope:
    """The envelope and the MIME octets of the mail (module docstring)."""
    recipient, utf8_to = transport_address(parts.to)
    envelope_from, utf8_envelope = transport_address(parts.default_from)
    from_header = _from_header(parts.sender, parts.default_from)
    header_from, utf8_from = transport_address(from_header.addr_spec)
    smtputf8 = utf8_to or utf8_envelope or utf8_from
    mail = EmailMessage(policy=_UTF8_POLICY if smtputf8 else _ASCII_POLICY)
    mail["From"] = Address(from_header.display_name, addr_spec=header_from)
    mail["To"] = recipient
    mail["Subject"] = parts.subject
    mail["Date"] = format_datetime(utc_datetime(parts.date))
    mail["Message-ID"] = f"<{parts.message_id}>"
    if is_html(parts.text):
        mail.set_content(_with_pixel(parts.text, parts.pixel_url), subtype="html", charset="utf-8")
    else:
        mail.set_content(parts.text, charset="utf-8")
    for attachment in parts.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if not maintype or not subtype:
            maintype, subtype = "application", "octet-stream"
        mail.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return Envelope(envelope_from, recipient, mail.as_bytes(), smtputf8)


def subject_of(options: dict[str, str]) -> str:
    """The subject stored with a mail (send.php ``subj``), on one line."""
    return " ".join(options.get(SUBJECT_OPTION, "").split())


def _from_header(sender: str | None, default_from: str) -> Address:
    name = (sender or "").strip()
    if is_address(name):
        return Address(addr_spec=name)
    return Address(display_name=name, addr_spec=default_from)


def _with_pixel(html: str, pixel_url: str | None) -> str:
    """``html`` with a 1×1 image at ``pixel_url`` before its last ``</body>`` (or at its end)."""
    if pixel_url is None:
        return html
    pixel = f'<img src="{pixel_url}" width="1" height="1" alt="" style="border:0">'
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + pixel
    at = ends[-1].start()
    return html[:at] + pixel + html[at:]
