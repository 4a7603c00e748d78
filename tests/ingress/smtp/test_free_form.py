"""Free-form e-mail2sms to ``<phone>@…`` (protocols.md §2.4) with the per-account switches."""

from __future__ import annotations

import ssl
from decimal import Decimal

import aiosmtplib
import httpx
import pytest

from smsgate.ingress.smtp.server import SmtpServer
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from tests.ingress.smtp.conftest import (
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

TO_MTS = (f"{MTS}@smsgate.test",)


async def test_subject_carries_login_and_password(
    services: Services, client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    message = mail("Привет!\nSecond line", to=TO_MTS, subject=f"alice:{PASSWORD}")
    reply = await deliver(smtp_server.ports["smtp"], message, to=TO_MTS)
    assert reply == (250, "2.0.0 OK - 1 SMS, ID - 1")
    shown = await status(client, "1", MTS)
    assert shown["message"] == "Привет!\nSecond line"
    assert shown["sender_id"] == ""  # the account's default sender: none set
    assert shown["cost"] == "2.50"


async def test_subject_with_an_api_key_and_several_recipients(
    services: Services, client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    to = (f"+{MTS}@a.test", f"{MEGAFON}@b.test")
    message = mail("Hello", to=to, subject=f":{alice.api_key}")
    assert await deliver(smtp_server.ports["smtp"], message, to=to) == (
        250,
        "2.0.0 OK - 2 SMS, ID - 1",
    )
    assert {row["phone"] for row in await stored(services)} == {MTS, MEGAFON}
    assert await balance(services) == Decimal("95.00")


async def test_default_sender_of_the_account(
    services: Services, client: httpx.AsyncClient, smtp_server: SmtpServer, alice: Alice
) -> None:
    await services.accounts.change("alice", AccountChanges(default_sender="Shop"))
    message = mail("Hello", to=TO_MTS, subject=f"alice:{PASSWORD}")
    await deliver(smtp_server.ports["smtp"], message, to=TO_MTS)
    assert (await status(client, "1", MTS))["sender_id"] == "Shop"


@pytest.mark.parametrize("subject", ["", "alice:wrong", "no colon"])
async def test_bad_subject_credentials(
    services: Services, smtp_server: SmtpServer, alice: Alice, subject: str
) -> None:
    message = mail("Hello", to=TO_MTS, subject=subject)
    reply = await deliver(smtp_server.ports["smtp"], message, to=TO_MTS)
    assert reply == (535, "5.7.8 ERROR = 2 (authorise error)")
    assert await stored(services) == []


async def test_switches(services: Services, smtp_server: SmtpServer, alice: Alice) -> None:
    port = smtp_server.ports["smtp"]
    account_id = alice.account.id
    subject = f"alice:{PASSWORD}"

    async def send(body: str, to: tuple[str, ...] = TO_MTS, sender: str = "a@b.test") -> str:
        code, text = await deliver(port, mail(body, to=to, subject=subject), to=to, sender=sender)
        return f"{code} {text}"

    # mfl[0]: e-mail2sms off → error 6.
    await services.email2sms.change(account_id, disabled=True)
    assert await send("x") == "550 5.7.1 ERROR = 6 (message is forbidden)"
    await services.email2sms.change(account_id, disabled=False)
    # mfl[2]: a mail without text.
    assert await send("") == "550 5.6.0 ERROR = 1 (parameters error)"
    # mfl[3]: no return path.
    assert await send("y", sender="") == "550 5.6.0 ERROR = 1 (parameters error)"
    await services.email2sms.change(account_id, allow_no_return_path=True)
    assert (await send("y", sender="")).startswith("250 ")
    # mfl[6]: several numbers in one address.
    joined = (f"{MTS}.{MEGAFON}@smsgate.test",)
    assert await send("z", joined) == "550 5.6.0 ERROR = 1 (parameters error)"
    await services.email2sms.change(account_id, phones_in_address=True)
    assert await send("z", joined) == "250 2.0.0 OK - 2 SMS, ID - 2"
    # mfl[5]: numbers in the first body line; mfl[4]: translit; mlen: cut.
    await services.email2sms.change(account_id, phones_in_body=True, translit=True, max_length=6)
    assert await send(f"{MEGAFON}\nПривет мир") == "250 2.0.0 OK - 2 SMS, ID - 3"
    texts = {row["phone"]: row["text"] for row in await stored(services) if row["client_id"] == "3"}
    assert texts == {MTS: "Privet", MEGAFON: "Privet"}


async def test_auth_session_puts_the_subject_before_the_body(
    services: Services, smtp_server: SmtpServer, alice: Alice, client_tls: ssl.SSLContext
) -> None:
    port = smtp_server.ports["smtp"]
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, start_tls=True, tls_context=client_tls
    ) as smtp:
        await smtp.login("alice", PASSWORD)
        reply = await transaction(smtp, mail("Body", to=TO_MTS, subject="Title"), to=TO_MTS)
        assert reply == (250, "2.0.0 OK - 1 SMS, ID - 1")
        # Without a Subject (mfl[1] off) an AUTH mail is refused.
        reply = await transaction(smtp, mail("Body 2", to=TO_MTS), to=TO_MTS)
        assert reply == (550, "5.6.0 ERROR = 1 (parameters error)")
        await services.email2sms.change(alice.account.id, allow_no_subject=True)
        assert (await transaction(smtp, mail("Body 3", to=TO_MTS), to=TO_MTS))[0] == 250
    assert [row["text"] for row in await stored(services)] == ["Title\nBody", "Body 3"]
