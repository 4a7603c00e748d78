"""The ``mfl[2]`` switch of free-form e-mail2sms over a real SMTP connection (aiosmtplib).

protocols.md §2.4: "without ``mfl[1]``/``mfl[2]``/``mfl[3]`` mails lacking a Subject (AUTH case) /
text / return path (``MAIL FROM:<>``) are refused (``550``, error 1)". So ``mfl[2]`` does one thing:
a mail whose text (§2.2: the first text/plain part, else the first text/html part without its tags,
narrowed to ``[text]`` … ``[/text]``, trimmed) is empty is no longer refused for that reason. What
such a mail sends follows the text rule of §2.4: "the body; when the credentials came from SMTP AUTH
and the Subject is non-empty, the text is Subject + line break + body" — the Subject alone. With the
credentials in the Subject the text is the empty body alone, and an empty text fails like any empty
text (protocols.md §1.3, error 1) whatever the switch says.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from decimal import Decimal
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest

from smsgate.ingress.smtp.server import SmtpServer
from smsgate.services.container import Services
from tests.ingress.smtp.conftest import (
    MEGAFON,
    MTS,
    PASSWORD,
    PRICE,
    Alice,
    balance,
    deliver,
    mail,
    status,
    stored,
    transaction,
)

TO_MTS = (f"{MTS}@smsgate.test",)
CREDENTIALS = f"alice:{PASSWORD}"
TITLE = "Заказ 17 готов"
REFUSED = (550, "5.6.0 ERROR = 1 (parameters error)")
START = Decimal("100")

Textless = Callable[[str], bytes | EmailMessage]


def _empty(subject: str) -> bytes:
    return mail("", to=TO_MTS, subject=subject)


def _blank(subject: str) -> bytes:
    return mail(" \r\n\t \r\n  ", to=TO_MTS, subject=subject)


def _empty_text_markers(subject: str) -> bytes:
    return mail(
        "Sent from my phone\r\n[text] \r\n [/text]\r\n-- \r\nIvan", to=TO_MTS, subject=subject
    )


def _invisible_html(subject: str) -> bytes:
    html = "<html><head><title>Invoice</title></head><body><p> </p><br></body></html>"
    message = mail(html, to=TO_MTS, subject=subject)
    return message.replace(b"Content-Type: text/plain", b"Content-Type: text/html", 1)


def _attachment_only(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = TO_MTS[0]
    message["Subject"] = subject
    pdf = b"%PDF-1.4 " + bytes(range(256))
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="invoice.pdf")
    return message


TEXTLESS: dict[str, Textless] = {
    "empty body": _empty,
    "blank body": _blank,
    "empty [text] pair": _empty_text_markers,
    "html without visible text": _invisible_html,
    "attachment only": _attachment_only,
}
VARIANTS = pytest.mark.parametrize("variant", list(TEXTLESS))


def auth_client(server: SmtpServer, context: ssl.SSLContext) -> aiosmtplib.SMTP:
    """A plain connection that upgrades with STARTTLS (AUTH is offered only after it)."""
    port = server.ports["smtp"]
    return aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=True, tls_context=context)


def accepted(request_id: int, parts: int = 1) -> tuple[int, str]:
    return 250, f"2.0.0 OK - {parts} SMS, ID - {request_id}"


@VARIANTS
async def test_without_mfl2_a_mail_without_text_is_refused(
    services: Services, smtp_server: SmtpServer, alice: Alice, variant: str
) -> None:
    port = smtp_server.ports["smtp"]
    assert await deliver(port, TEXTLESS[variant](CREDENTIALS), to=TO_MTS) == REFUSED
    assert await stored(services) == []
    assert await balance(services) == START


@VARIANTS
async def test_without_mfl2_an_auth_mail_without_text_is_refused_despite_its_subject(
    services: Services,
    smtp_server: SmtpServer,
    alice: Alice,
    client_tls: ssl.SSLContext,
    variant: str,
) -> None:
    async with auth_client(smtp_server, client_tls) as smtp:
        await smtp.login("alice", PASSWORD)
        assert await transaction(smtp, TEXTLESS[variant](TITLE), to=TO_MTS) == REFUSED
    assert await stored(services) == []
    assert await balance(services) == START


@VARIANTS
async def test_with_mfl2_an_auth_mail_without_text_sends_its_subject(
    services: Services,
    client: httpx.AsyncClient,
    smtp_server: SmtpServer,
    alice: Alice,
    client_tls: ssl.SSLContext,
    variant: str,
) -> None:
    make = TEXTLESS[variant]
    async with auth_client(smtp_server, client_tls) as smtp:
        await smtp.login("alice", PASSWORD)
        assert await transaction(smtp, make(TITLE), to=TO_MTS) == REFUSED
        await services.email2sms.change(alice.account.id, allow_no_text=True)
        # The same session, the same mail: the switch is read per mail.
        assert await transaction(smtp, make(TITLE), to=TO_MTS) == accepted(1)
        await services.email2sms.change(alice.account.id, allow_no_text=False)
        assert await transaction(smtp, make(f"{TITLE}!"), to=TO_MTS) == REFUSED
    [row] = await stored(services)
    # Subject + line break + an empty body; the trailing line break carries nothing (§2.2 trims
    # the text, and a character of an SMS costs), so the message is the Subject.
    assert row["text"].rstrip("\r\n") == TITLE
    assert (row["phone"], row["client_id"]) == (MTS, "1")
    shown = await status(client, "1", MTS)
    assert shown["message"].rstrip("\r\n") == TITLE
    assert shown["cost"] == f"{PRICE:.2f}"
    assert await balance(services) == START - PRICE


async def test_with_mfl2_subject_credentials_leave_the_text_empty_so_it_is_still_error_1(
    services: Services, smtp_server: SmtpServer, alice: Alice
) -> None:
    """With the credentials in the Subject the text is the body alone (§2.4): mfl[2] lets the
    mail past its own check, but an empty message cannot be sent (§1.3, error 1)."""
    port = smtp_server.ports["smtp"]
    await services.email2sms.change(alice.account.id, allow_no_text=True)
    assert await deliver(port, _empty(CREDENTIALS), to=TO_MTS) == REFUSED
    assert await stored(services) == []
    # A mail with text is not changed by the switch.
    message = mail("  Привет!  ", to=TO_MTS, subject=CREDENTIALS)
    assert await deliver(port, message, to=TO_MTS) == accepted(1)
    assert [row["text"] for row in await stored(services)] == ["Привет!"]


async def test_mfl2_does_not_stand_in_for_mfl1(
    services: Services, smtp_server: SmtpServer, alice: Alice, client_tls: ssl.SSLContext
) -> None:
    """An AUTH mail with neither Subject nor text is refused for its missing Subject while mfl[1]
    is off, mfl[2] or not; with both on there is still no text to send (error 1)."""
    await services.email2sms.change(alice.account.id, allow_no_text=True)
    async with auth_client(smtp_server, client_tls) as smtp:
        await smtp.login("alice", PASSWORD)
        assert await transaction(smtp, _empty(""), to=TO_MTS) == REFUSED
        assert await transaction(smtp, mail("Body", to=TO_MTS), to=TO_MTS) == REFUSED
        await services.email2sms.change(alice.account.id, allow_no_subject=True)
        assert await transaction(smtp, _empty(""), to=TO_MTS) == REFUSED
        assert await transaction(smtp, mail("Body", to=TO_MTS), to=TO_MTS) == accepted(1)
    assert [row["text"] for row in await stored(services)] == ["Body"]


async def test_a_body_of_only_mfl5_numbers_is_a_mail_without_text(
    services: Services, smtp_server: SmtpServer, alice: Alice, client_tls: ssl.SSLContext
) -> None:
    """With mfl[5] a first line of numbers adds recipients and is removed (§2.4); a body that was
    nothing else leaves no text, so mfl[2] decides, and the Subject is sent to every number."""
    await services.email2sms.change(alice.account.id, phones_in_body=True)
    message = mail(f"{MEGAFON}\r\n", to=TO_MTS, subject=TITLE)
    async with auth_client(smtp_server, client_tls) as smtp:
        await smtp.login("alice", PASSWORD)
        assert await transaction(smtp, message, to=TO_MTS) == REFUSED
        await services.email2sms.change(alice.account.id, allow_no_text=True)
        assert await transaction(smtp, message, to=TO_MTS) == accepted(1, parts=2)
    rows = await stored(services)
    assert {row["phone"]: row["text"].rstrip("\r\n") for row in rows} == {
        MTS: TITLE,
        MEGAFON: TITLE,
    }
    assert await balance(services) == START - 2 * PRICE
