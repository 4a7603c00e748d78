"""``send@`` mails in the colon grammar (protocols.md §2.2, §2.3, §2.5) over a real socket: every
body form is stored as send.php would store it and shows in status.php with its text, sender, type
and cost."""

from __future__ import annotations

import base64
import quopri
import re
from decimal import Decimal
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import aiosmtplib
import httpx
import pytest

from smsgate.domain.codes import MessageType
from smsgate.ingress.smtp.server import SmtpServer
from smsgate.services.container import Services
from tests.ingress.smtp.conftest import (
    INVALID,
    MEGAFON,
    MTS,
    PASSWORD,
    Alice,
    balance,
    deliver,
    mail,
    status,
    stored,
    transaction,
)

ACCEPTED = re.compile(r"^2\.0\.0 OK - (\d+) SMS, ID - (\S+)$")
CREDS = f"alice:{PASSWORD}"


def accepted(reply: tuple[int, str]) -> tuple[int, str]:
    """(parts, request id) of a ``250 2.0.0 OK - <n> SMS, ID - <id>`` reply."""
    code, text = reply
    assert code == 250, text
    found = ACCEPTED.match(text)
    assert found, text
    return int(found.group(1)), found.group(2)


async def test_phones_form(
    services: Services, client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    body = f"{CREDS}:::0,0,Shop:{MTS},{MEGAFON}:Hello from mail"
    parts, request_id = accepted(await deliver(smtp_server.ports["smtp"], mail(body)))
    assert (parts, request_id) == (2, "1")
    for phone in (MTS, MEGAFON):
        shown = await status(client, request_id, phone)
        assert shown["message"] == "Hello from mail"
        assert shown["sender_id"] == "Shop"
        assert shown["type"] == int(MessageType.SMS)
        assert shown["cost"] == "2.50"
    assert await balance(services) == Decimal("95.00")


async def test_spec_example_flash_translit_scheduled(
    services: Services, client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    body = f"{CREDS}::+60:1,1,Shop:{MTS}:Ваш заказ готов"
    _, request_id = accepted(await deliver(smtp_server.ports["smtp"], mail(body)))
    shown = await status(client, request_id, MTS)
    assert shown["message"] == "Vash zakaz gotov"
    assert shown["type"] == int(MessageType.FLASH)
    (row,) = await stored(services)
    assert row["due_at"] == pytest.approx(services.clock.now() + 3600)


async def test_list_form(
    services: Services, client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    body = f"{CREDS}:77::::{MTS}:Hi Ivan\n{MEGAFON}:Hi Petr"
    assert accepted(await deliver(smtp_server.ports["smtp"], mail(body))) == (2, "77")
    assert (await status(client, "77", MTS))["message"] == "Hi Ivan"
    assert (await status(client, "77", MEGAFON))["message"] == "Hi Petr"


async def test_api_key_with_empty_login(
    client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    body = f":{alice.api_key}:5:::{MTS}:Via key"
    assert accepted(await deliver(smtp_server.ports["smtp"], mail(body))) == (1, "5")
    assert (await status(client, "5", MTS))["message"] == "Via key"


@pytest.mark.parametrize(
    ("index", "msg_type"),
    [
        ("0", MessageType.SMS),
        ("1", MessageType.FLASH),
        ("2", MessageType.PUSH),
        ("3", MessageType.HLR),
        ("5", MessageType.BIN),
        ("6", MessageType.PING),
        ("7", MessageType.MMS),
        ("9", MessageType.CALL),
        ("10", MessageType.VIBER),
        ("11", MessageType.SOC),
    ],
)
async def test_format_index(
    services: Services, smtp_server: SmtpServer, alice: Alice, index: str, msg_type: MessageType
) -> None:
    text = {"2": "http://example.com/x\nTitle", "5": "0048656c6c6f"}.get(index, "Hello")
    body = f"{CREDS}:::,{index}:{MTS}:{text}"
    accepted(await deliver(smtp_server.ports["smtp"], mail(body)))
    (row,) = await stored(services)
    assert row["msg_type"] == int(msg_type)


async def test_format_8_sends_an_e_mail_with_the_first_line_as_subject(
    services: Services, smtp_server: SmtpServer, alice: Alice
) -> None:
    body = f"{CREDS}:::,8:ivan@example.com:Your order\nIt is ready"
    accepted(await deliver(smtp_server.ports["smtp"], mail(body)))
    (row,) = await stored(services)
    assert (row["msg_type"], row["phone"], row["text"]) == (8, "ivan@example.com", "It is ready")
    assert '"subj": "Your order"' in row["options"]


async def test_test_sub_field_is_virtual_sending(
    services: Services, client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    accepted(await deliver(smtp_server.ports["smtp"], mail(f"{CREDS}:::,,,1:{MTS}:Virtual")))
    (row,) = await stored(services)
    assert row["test"] and row["cost"] == 0
    assert await balance(services) == Decimal("100")


async def test_text_wrapping_koi8_r_default_and_comment(
    client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    body = f"Signature\n[text]{CREDS}:9:::{MTS}:Привет\n~~~\nnote[/text]\n-- \nsig"
    message = mail(body.encode("koi8-r"), charset=None)
    accepted(await deliver(smtp_server.ports["smtp"], message))
    shown = await status(client, "9", MTS)
    assert (shown["message"], shown["comment"]) == ("Привет", "note")


async def test_multipart_quoted_printable_and_base64(
    client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    text = f"{CREDS}:{{id}}:::{MTS}:Заказ № 5 — готов"
    for request_id, encoding in (("1", "quoted-printable"), ("2", "base64")):
        payload = text.format(id=request_id).encode("windows-1251")
        part = MIMEText("", "plain", "windows-1251")
        del part["Content-Transfer-Encoding"]
        part["Content-Transfer-Encoding"] = encoding
        encoded = quopri.encodestring(payload) if encoding != "base64" else None
        part.set_payload((encoded or base64.encodebytes(payload)).decode("ascii"))
        message = MIMEMultipart("alternative")
        message.attach(MIMEText("<p>html version</p>", "html", "utf-8"))
        message.attach(part)
        accepted(await deliver(smtp_server.ports["smtp"], message.as_bytes()))
        assert (await status(client, request_id, MTS))["message"] == "Заказ № 5 — готов"


async def test_several_mails_on_one_connection_are_accounted_separately(
    services: Services, smtp_server: SmtpServer, alice: Alice
) -> None:
    port = smtp_server.ports["smtp"]
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
        first = accepted(await transaction(smtp, mail(f"{CREDS}::::{MTS}:one")))
        second = accepted(await transaction(smtp, mail(f"{CREDS}::::{MTS},{MEGAFON}:two")))
        # Two send@ addresses in one transaction still mean one mail, processed once.
        third = accepted(
            await transaction(
                smtp,
                mail(f"{CREDS}::::{MEGAFON}:three"),
                to=["send@a.test", "SEND@b.test"],
            )
        )
    assert [first, second, third] == [(1, "1"), (2, "2"), (1, "3")]
    assert len(await stored(services)) == 4
    assert await balance(services) == Decimal("90.00")


async def test_some_recipients_rejected_the_rest_sent(
    services: Services, client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    reply = await deliver(smtp_server.ports["smtp"], mail(f"{CREDS}::::{MTS},{INVALID}:x"))
    assert accepted(reply) == (1, "1")
    assert (await status(client, "1", INVALID))["status"] == 22
    assert await balance(services) == Decimal("97.50")
