"""Every documented body form of the SMTP ingress (protocols.md §2.2–§2.4), sent by two independent
clients (the standard library's smtplib and aiosmtplib) over the three transports (protocols.md
§2.1): plain without AUTH (credentials in the mail), STARTTLS with AUTH and implicit TLS with AUTH.

Each mail must be answered ``250 2.0.0 OK - <n> SMS, ID - <id>`` (§2.5) and each resulting message
must show in status.php ``all=1`` (http-api.md §3) with its text, sender, type and cost; the balance
must be debited by exactly those costs. The forms:

* the colon grammar to ``send@…`` (§2.3): the phones form, the list form, the numeric ``format``
  index 4 (``bin=1``) and 8 (``mail=1``, first line = subject, §1.2), an empty login meaning an API
  key;
* the text extraction rules (§2.2): ``[text]`` … ``[/text]``, koi8-r when no charset is declared,
  MIME multipart with a text part, quoted-printable and base64 bodies;
* free-form e-mail2sms to ``<phone>@…`` (§2.4) with ``login:password`` or ``:apikey`` as Subject.

With AUTH the body needs no credentials (§2.1, §2.3 field 1): the colon forms leave ``login`` and
``psw`` empty, the API-key forms authenticate with the key, and a free-form Subject is no longer
credentials but the first line of the text (§2.4).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import quopri
import smtplib
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Literal

import aiosmtplib
import httpx
import pytest
import pytest_asyncio
from sqlalchemy import RowMapping, select

from smsgate.app import open_services
from smsgate.config import SmtpSettings
from smsgate.domain.codes import MessageType
from smsgate.domain.pricing import TariffRule
from smsgate.ingress.http.app import build_http_app
from smsgate.ingress.smtp.handler import SmtpIngress
from smsgate.ingress.smtp.server import SmtpServer
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.store.schema import accounts, messages
from tests.conftest import BACKENDS, fresh_database, make_settings, run_sync
from tests.ingress.smtp.conftest import MEGAFON, MTS, PASSWORD, balance, mail, transaction
from tests.support.clock import ManualClock

# One event loop for the module: its store and listeners are shared by every case.
pytestmark = pytest.mark.asyncio(loop_scope="module")

Transport = Literal["plain", "starttls", "implicit"]
ClientName = Literal["smtplib", "aiosmtplib"]
TRANSPORTS: tuple[Transport, ...] = ("plain", "starttls", "implicit")
CLIENTS: tuple[ClientName, ...] = ("smtplib", "aiosmtplib")
ENVELOPE_SENDER = "shop@example.com"
TO_SEND = ("send@smsgate.test",)
# Prices per type (codes.md §4.3), so that the cost shows which type was charged.
SMS_PRICE, BIN_PRICE, MAIL_PRICE = Decimal("2.50"), Decimal("1.20"), Decimal("0.30")
DEFAULT_SENDER, OTHER_SENDER = "Shop", "Info"
MAILBOX, MAIL_SENDER = "ivan@example.com", "news@example.com"
BALANCE = Decimal("100")
LONG_TEXT = "Заказ № 5 — готов, заберите его в пункте выдачи до пятницы"  # one UCS-2 part
Shown = tuple[str, str, int, str]


@dataclass(frozen=True, slots=True)
class Expected:
    """One stored message as status.php ``all=1`` must show it."""

    phone: str
    text: str
    sender: str = DEFAULT_SENDER
    msg_type: MessageType = MessageType.SMS
    cost: Decimal = SMS_PRICE


@dataclass(frozen=True, slots=True)
class Who:
    """How the sender identifies itself: SMTP AUTH (TLS transports) or credentials in the mail."""

    auth: bool
    login: str
    api_key: str

    @property
    def creds(self) -> str:
        """Fields 1–2 of the colon grammar: empty under AUTH (§2.3 field 1)."""
        return ":" if self.auth else f"{self.login}:{PASSWORD}"


@dataclass(frozen=True, slots=True)
class Mail:
    """One mail of a form: the message, its recipients, the reply and the messages it yields."""

    message: bytes
    request_id: str
    expected: tuple[Expected, ...]
    to: tuple[str, ...] = TO_SEND
    subject: str = ""  # mail=1: the subject, which only the store shows


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    build: Callable[[Who], Mail]
    with_api_key: bool = False  # under AUTH, authenticate with the API key instead of the password


def _phones(who: Who) -> Mail:
    body = f"{who.creds}:::0,0,{OTHER_SENDER}:{MTS},{MEGAFON}:Hello from mail"
    texts = (
        Expected(MTS, "Hello from mail", OTHER_SENDER),
        Expected(MEGAFON, "Hello from mail", OTHER_SENDER),
    )
    return Mail(mail(body), "1", texts)


def _list(who: Who) -> Mail:
    body = f"{who.creds}:77::,,{OTHER_SENDER}::{MTS}:Hi Ivan\n\n{MEGAFON}:Hi Petr: see you"
    expected = (
        Expected(MTS, "Hi Ivan", OTHER_SENDER),
        Expected(MEGAFON, "Hi Petr: see you", OTHER_SENDER),
    )
    return Mail(mail(body), "77", expected)


def _bin(who: Who) -> Mail:
    # format 4 = bin=1: the percent-decoded octets; the first octet 00 means no UDH (§1.4).
    body = f"{who.creds}:4::,4:{MTS}:%00%48i%21"
    # status.php shows a binary payload in hex, without the dropped UDH-length octet (what the
    # product does; http-api.md §3 does not say how a binary text is shown).
    expected = Expected(MTS, "486921", msg_type=MessageType.BIN, cost=BIN_PRICE)
    return Mail(mail(body), "4", (expected,))


def _e_mail(who: Who) -> Mail:
    # format 8 = mail=1: the first line of the text is the subject (§1.2).
    body = f"{who.creds}:8::,8,{MAIL_SENDER}:{MAILBOX}:Your order\nIt is ready"
    expected = Expected(MAILBOX, "It is ready", MAIL_SENDER, MessageType.MAIL, MAIL_PRICE)
    return Mail(mail(body), "8", (expected,), subject="Your order")


def _api_key(who: Who) -> Mail:
    body = f":{who.api_key}:5:::{MTS}:Via key"
    return Mail(mail(body), "5", (Expected(MTS, "Via key"),))


def _wrapped(who: Who) -> Mail:
    body = f"Hello,\n\n[text]{who.creds}:9:::{MTS}:Wrapped\n~~~\nnote[/text]\n-- \nsignature"
    return Mail(mail(body), "9", (Expected(MTS, "Wrapped"),))


def _koi8_r(who: Who) -> Mail:
    body = f"{who.creds}:10:::{MTS}:Привет, мир"
    return Mail(mail(body.encode("koi8-r"), charset=None), "10", (Expected(MTS, "Привет, мир"),))


def _multipart(who: Who) -> Mail:
    message = MIMEMultipart("mixed")
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("<p>not this one</p>", "html", "utf-8"))
    alternative.attach(MIMEText(f"{who.creds}:11:::{MTS}:Заказ готов", "plain", "utf-8"))
    message.attach(alternative)
    attachment = MIMEText("attached, not the text", "plain", "utf-8")
    attachment.add_header("Content-Disposition", "attachment", filename="a.txt")
    message.attach(attachment)
    return Mail(message.as_bytes(), "11", (Expected(MTS, "Заказ готов"),))


def _encoded(encoding: str, request_id: str) -> Callable[[Who], Mail]:
    def build(who: Who) -> Mail:
        # Long enough for soft line breaks (quoted-printable) and several base64 lines.
        payload = f"{who.creds}:{request_id}:::{MTS}:{LONG_TEXT}".encode("windows-1251")
        part = MIMEText("", "plain", "windows-1251")
        del part["Content-Transfer-Encoding"]
        part["Content-Transfer-Encoding"] = encoding
        encode = base64.encodebytes if encoding == "base64" else quopri.encodestring
        part.set_payload(encode(payload).decode("ascii"))
        return Mail(part.as_bytes(), request_id, (Expected(MTS, LONG_TEXT),))

    return build


def _free_form_password(who: Who) -> Mail:
    to = (f"{MTS}@smsgate.test",)
    subject = "Title" if who.auth else f"{who.login}:{PASSWORD}"
    text = "Привет!\nSecond line"
    shown = f"Title\n{text}" if who.auth else text  # under AUTH the Subject leads the text (§2.4)
    return Mail(mail(text, to=to, subject=subject), "1", (Expected(MTS, shown),), to=to)


def _free_form_api_key(who: Who) -> Mail:
    to = (f"+{MTS}@a.test", f"{MEGAFON}@b.test")
    subject = "Note" if who.auth else f":{who.api_key}"
    shown = "Note\nHello" if who.auth else "Hello"
    expected = (Expected(MTS, shown), Expected(MEGAFON, shown))
    return Mail(mail("Hello", to=to, subject=subject), "1", expected, to=to)


FORMS = (
    Form("phones", _phones),
    Form("list", _list),
    Form("format-4-bin", _bin),
    Form("format-8-mail", _e_mail),
    Form("empty-login-api-key", _api_key, with_api_key=True),
    Form("text-wrapping", _wrapped),
    Form("koi8-r-default", _koi8_r),
    Form("multipart", _multipart),
    Form("quoted-printable", _encoded("quoted-printable", "12")),
    Form("base64", _encoded("base64", "13")),
    Form("free-form-password", _free_form_password),
    Form("free-form-api-key", _free_form_api_key, with_api_key=True),
)


@dataclass(frozen=True, slots=True)
class Shared:
    """What the tests of this module share, per back end: one store, one SMTP server (plain with
    STARTTLS, and implicit TLS) and one status.php client."""

    services: Services
    server: SmtpServer
    web: httpx.AsyncClient


@pytest.fixture(scope="module", params=BACKENDS)
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A fresh, migrated database for this module (the per-test one of ``tests/conftest.py`` costs
    up to a second on PostgreSQL, for each of the 144 cases)."""
    directory = tmp_path_factory.mktemp("smtp-matrix")
    return run_sync(fresh_database(request, str(request.param), directory))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(
    module_database: str,
    tmp_path_factory: pytest.TempPathFactory,
    certificate: tuple[Path, Path],
) -> AsyncIterator[Shared]:
    settings = make_settings(module_database, tmp_path_factory.mktemp("smtp-matrix-data"))
    cert, key = certificate
    smtp_settings = SmtpSettings(port=0, tls_port=0, tls_cert=str(cert), tls_key=str(key))
    async with open_services(settings, ManualClock()) as services:
        for rule in (
            TariffRule(price=SMS_PRICE),
            TariffRule(price=BIN_PRICE, msg_type=MessageType.BIN),
            TariffRule(price=MAIL_PRICE, msg_type=MessageType.MAIL),
        ):
            await services.tariffs.set(rule)
        ingress = SmtpIngress(services, smtp_settings)
        app = build_http_app(services, lambda: {"http": True})
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with (
            SmtpServer(smtp_settings, ingress, host="127.0.0.1") as server,
            httpx.AsyncClient(transport=transport, base_url="http://smsgate.test") as web,
        ):
            yield Shared(services, server, web)


_logins = itertools.count(1)


@pytest_asyncio.fixture(loop_scope="module")
async def account(shared: Shared) -> Who:
    """An account of its own for each case (its balance, its ids, its messages): a default sender,
    a second approved sender and an approved e-mail sender."""
    services = shared.services
    login = f"matrix{next(_logins)}"
    record = await services.accounts.create(login, PASSWORD, balance=BALANCE)
    for sender in (DEFAULT_SENDER, OTHER_SENDER, MAIL_SENDER):
        await services.senders.add(record, sender, approve=True)
    await services.accounts.change(login, AccountChanges(default_sender=DEFAULT_SENDER))
    _, key = await services.accounts.new_api_key(login)
    return Who(auth=False, login=login, api_key=key)


async def via_aiosmtplib(
    port: int,
    transport: Transport,
    context: ssl.SSLContext,
    login: tuple[str, str] | None,
    mail_: Mail,
) -> tuple[int, str]:
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=port,
        use_tls=transport == "implicit",
        start_tls=transport == "starttls",
        tls_context=context,
        timeout=10,
    ) as smtp:
        if login is not None:
            await smtp.login(*login)
        return await transaction(smtp, mail_.message, to=mail_.to, sender=ENVELOPE_SENDER)


def via_smtplib(
    port: int,
    transport: Transport,
    context: ssl.SSLContext,
    login: tuple[str, str] | None,
    mail_: Mail,
) -> tuple[int, str]:
    """One transaction with the standard library's client (blocking: run it in a thread); the DATA
    reply, or the first refusal before it."""
    client: smtplib.SMTP
    if transport == "implicit":
        client = smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=10)
    else:
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
    with client:
        client.ehlo()
        if transport == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if login is not None:
            client.login(*login)
        replies = [client.mail(ENVELOPE_SENDER)]
        replies.extend(client.rcpt(address) for address in mail_.to)
        refused = [reply for reply in replies if reply[0] != 250]
        code, text = refused[0] if refused else client.data(mail_.message)
        return code, text.decode()


async def send(
    name: ClientName,
    server: SmtpServer,
    transport: Transport,
    context: ssl.SSLContext,
    login: tuple[str, str] | None,
    mail_: Mail,
) -> tuple[int, str]:
    port = server.ports["smtps" if transport == "implicit" else "smtp"]
    if name == "aiosmtplib":
        return await via_aiosmtplib(port, transport, context, login, mail_)
    return await asyncio.to_thread(via_smtplib, port, transport, context, login, mail_)


async def status_of(web: httpx.AsyncClient, login: str, request_id: str, phone: str) -> Shown:
    """(message, sender_id, type, cost) of one message in status.php ``all=1``."""
    query = {
        "login": login,
        "psw": PASSWORD,
        "id": request_id,
        "phone": phone,
        "all": "1",
        "fmt": "3",
    }
    body = json.loads((await web.get("/sys/status.php", params=query)).text)
    return body["message"], body["sender_id"], body["type"], body["cost"]


async def stored_of(services: Services, login: str) -> Sequence[RowMapping]:
    async with services.db.read() as conn:
        query = (
            select(messages)
            .join(accounts, accounts.c.id == messages.c.account_id)
            .where(accounts.c.login == login)
            .order_by(messages.c.id)
        )
        return (await conn.execute(query)).mappings().all()


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("client_name", CLIENTS)
async def test_body_form(
    shared: Shared,
    account: Who,
    client_tls: ssl.SSLContext,
    client_name: ClientName,
    transport: Transport,
    form: Form,
) -> None:
    who = replace(account, auth=transport != "plain")
    mail_ = form.build(who)
    login = None
    if who.auth:
        login = (who.login, who.api_key if form.with_api_key else PASSWORD)
    reply = await send(client_name, shared.server, transport, client_tls, login, mail_)

    count = len(mail_.expected)  # one part each
    assert reply == (250, f"2.0.0 OK - {count} SMS, ID - {mail_.request_id}")
    for expected in mail_.expected:
        shown = await status_of(shared.web, who.login, mail_.request_id, expected.phone)
        wanted = (expected.text, expected.sender, int(expected.msg_type), f"{expected.cost:.2f}")
        assert shown == wanted, expected.phone
    rows = await stored_of(shared.services, who.login)
    assert len(rows) == count
    if mail_.subject:
        assert json.loads(rows[0]["options"])["subj"] == mail_.subject
    spent = sum((e.cost for e in mail_.expected), Decimal(0))
    assert await balance(shared.services, who.login) == BALANCE - spent
