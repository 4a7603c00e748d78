"""send.php as real SMSC clients call it, and their replies read the way those clients read them
(http-api.md §1.1, §1.5, §2.6).

The PHP, Python, C# and Java libraries build ``cost=3&phones=…&mes=…&translit=…&id=…`` with their own URL
quoting, prefix ``login``, ``psw``, ``fmt=1`` and ``charset``, send a GET, or a form POST once the URL is
over 2000 characters, and split the reply on ``,``: ``id,cnt,cost,balance``, with a negative second field
meaning error (``0,-N`` or ``<id>,-N``). The Node library posts multipart form data with ``fmt=3`` and
reads JSON; community clients use fmt 3 JSON or the fmt 0 text lines. Last, the same Cyrillic text
sent in each charset a client may use is stored identically.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, quote_plus

import httpx
import pytest
from sqlalchemy import RowMapping, select

from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import messages

PASSWORD = "password-1"
MTS, MEGAFON, BEELINE = "79161234567", "79261234567", "79031234567"
INVALID = "79001234567"  # +7 900 outside every range of the demo numbering plan: 22 / 249
TEXT = "Привет! Ваш код: 1234 & 100% +скидка / ok?"
POST_OVER = 2000  # the libraries switch to POST above this URL length


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("2.50")))
    await services.senders.add(account, "Shop", approve=True)
    return account


async def stored(services: Services) -> Sequence[RowMapping]:
    async with services.db.read() as conn:
        result = await conn.execute(select(messages).order_by(messages.c.id))
        return result.mappings().all()


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


@dataclass(frozen=True)
class OfficialLibrary:
    """How one official library quotes values and orders the send.php arguments."""

    name: str
    quote: Callable[[str], str]
    id_before_translit: bool = False

    def arguments(self, phones: str, message: str, sender: str | None, query: str) -> str:
        q = self.quote
        pairs = ["id=0", "translit=0"] if self.id_before_translit else ["translit=0", "id=0"]
        args = f"cost=3&phones={q(phones)}&mes={q(message)}&" + "&".join(pairs)
        if sender is not None:
            args += f"&sender={q(sender)}"
        return args + (f"&{query}" if query else "")

    async def send_sms(
        self,
        client: httpx.AsyncClient,
        phones: str,
        message: str,
        *,
        sender: str | None = None,
        query: str = "",
        password: str = PASSWORD,
    ) -> tuple[list[str], str]:
        """The reply split on ``,`` as the library returns it, and the HTTP method used."""
        credentials = f"login=alice&psw={self.quote(password)}&fmt=1&charset=utf-8"
        arguments = f"{credentials}&{self.arguments(phones, message, sender, query)}"
        url = f"http://smsc.ru/sys/send.php?{arguments}"
        if len(url) > POST_OVER:
            response = await client.post(
                "/sys/send.php",
                content=arguments.encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        else:
            # Backup hosts www2.smsc.ru … are served like the main one.
            response = await client.get(
                f"/sys/send.php?{arguments}", headers={"host": "www2.smsc.ru"}
            )
        assert response.status_code == 200
        assert response.content, "an empty body makes the library retry on another host"
        return response.text.split(","), response.request.method


LIBRARIES = [
    OfficialLibrary("php", lambda s: quote_plus(s, safe="")),  # urlencode()
    OfficialLibrary("python", quote),  # urllib.parse.quote(): %20, "/" kept
    OfficialLibrary(  # HttpUtility.UrlEncode(): lowercase hex
        "csharp", lambda s: _lower_hex(quote_plus(s, safe="!*()")), id_before_translit=True
    ),
    OfficialLibrary("java", lambda s: quote_plus(s, safe="*")),  # URLEncoder.encode()
]


def succeeded(reply: list[str]) -> bool:
    """The libraries' own test: the second field is positive."""
    return int(reply[1]) > 0


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_send(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, library: OfficialLibrary
) -> None:
    reply, method = await library.send_sms(client, f"{MTS},{MEGAFON}", TEXT, sender="Shop")
    assert method == "GET"
    assert succeeded(reply)
    assert reply == ["1", "2", "5.00", "95.00"]  # id, cnt, cost, balance
    rows = await stored(services)
    assert [(r["phone"], r["text"], r["sender"]) for r in rows] == [
        (MTS, TEXT, "Shop"),
        (MEGAFON, TEXT, "Shop"),
    ]


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_errors(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, library: OfficialLibrary
) -> None:
    reply, _ = await library.send_sms(client, MTS, TEXT, password="wrong password")
    assert not succeeded(reply)
    assert reply == ["0", "-2"]
    reply, _ = await library.send_sms(client, INVALID, TEXT)
    assert reply == ["1", "-7"]  # the id the request would have had
    reply, _ = await library.send_sms(client, MTS, TEXT, sender="Unknown")
    assert reply == ["2", "-6"]
    assert await stored(services) == []


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_posts_a_long_message(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, library: OfficialLibrary
) -> None:
    message = "Ж" * 1000  # 15 parts
    reply, method = await library.send_sms(client, f"{MTS};{MEGAFON}", message)
    assert method == "POST"
    assert reply == ["1", "30", "75.00", "25.00"]
    assert [r["text"] for r in await stored(services)] == [message, message]


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_posts_a_long_list(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, library: OfficialLibrary
) -> None:
    lines = [f"791600000{n:02d}:Заказ №{n} готов к выдаче" for n in range(30)]
    query = "list=" + library.quote("\n".join(lines))
    reply, method = await library.send_sms(client, "", "", query=query)
    assert method == "POST"
    assert reply == ["1", "30", "75.00", "25.00"]
    rows = await stored(services)
    assert [(r["phone"], r["text"]) for r in rows] == [
        (f"791600000{n:02d}", f"Заказ №{n} готов к выдаче") for n in range(30)
    ]


# --- Node library: multipart, fmt=3, JSON ---------------------------------------------------------


def multipart(fields: dict[str, str], boundary: str) -> bytes:
    """A body as the ``form-data`` package writes it: one part per field, no part Content-Type."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def node_fields(**extra: str) -> dict[str, str]:
    return {
        "phones": f"{MTS},{BEELINE}",
        "mes": TEXT,
        "cost": "3",
        "fmt": "3",
        "charset": "utf-8",
        "login": "alice",
        "psw": PASSWORD,
        **extra,
    }


async def test_node_library_multipart_send(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    boundary = "--------------------------515890814546601021194782"
    response = await client.post(
        "/sys/send.php",
        content=multipart(node_fields(), boundary),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    data = response.json()
    assert "error" not in data
    assert data == {"id": 1, "cnt": 2, "cost": "5.00", "balance": "95.00"}
    assert [r["text"] for r in await stored(services)] == [TEXT, TEXT]


async def test_node_library_multipart_with_a_file_part(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    response = await client.post(
        "/sys/send.php",
        data=node_fields(),
        files={"file0": ("note.txt", b"attached, not part of an SMS" * 10, "text/plain")},
    )
    assert response.json() == {"id": 1, "cnt": 2, "cost": "5.00", "balance": "95.00"}
    assert [r["text"] for r in await stored(services)] == [TEXT, TEXT]


async def test_node_library_reads_errors_from_json(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    response = await client.post("/sys/send.php", data=node_fields(psw="wrong password"))
    assert response.json() == {"error": "authorise error", "error_code": 2}
    response = await client.post("/sys/send.php", data=node_fields(phones=INVALID))
    assert response.json() == {"error": "invalid phone number", "error_code": 7, "id": 1}


# --- community clients --------------------------------------------------------------------------


async def test_json_client(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    params = {"login": "alice", "psw": PASSWORD, "fmt": "3", "charset": "utf-8"}
    response = await client.get(
        "/sys/send.php", params={**params, "phones": MTS, "mes": TEXT, "sender": "Shop"}
    )
    data = response.json()
    assert isinstance(data["id"], int)
    assert data == {"id": 1, "cnt": 1}
    response = await client.get(
        "/sys/send.php", params={**params, "phones": MTS, "mes": "x" * 1001}
    )
    assert response.json() == {"error": "parameters error", "error_code": 1}


OK_LINE = re.compile(r"OK - (\d+) SMS, ID - (\d+)")
ERROR_LINE = re.compile(r"ERROR = (\d+) \(([^)]*)\)(?:, ID - (\S+))?")


async def test_text_client(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    params = {"login": "alice", "psw": PASSWORD, "mes": TEXT}  # no fmt: fmt 0 is the default
    response = await client.get("/sys/send.php", params={**params, "phones": f"{MTS},{MEGAFON}"})
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    ok = OK_LINE.fullmatch(response.text)
    assert ok and ok.groups() == ("2", "1")
    response = await client.get("/sys/send.php", params={**params, "phones": INVALID})
    error = ERROR_LINE.fullmatch(response.text)
    assert error and error.groups() == ("7", "invalid phone number", "2")
    response = await client.get("/sys/send.php", params={**params, "psw": "x", "phones": MTS})
    error = ERROR_LINE.fullmatch(response.text)
    assert error and error.groups() == ("2", "authorise error", None)


# --- charsets (§1.3) -------------------------------------------------------------------------

CYRILLIC = "Привет, мир! Ёжик"


def percent(text: str, charset: str) -> str:
    return "".join(f"%{b:02X}" for b in text.encode(charset))


async def test_cyrillic_is_stored_the_same_in_every_charset(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    forms = [
        ("utf-8", "&charset=utf-8"),
        ("windows-1251", "&charset=windows-1251"),
        ("koi8-r", "&charset=koi8-r"),
        ("koi8-r", "&charset=KOI8R"),
        ("windows-1251", ""),  # not valid UTF-8: read as windows-1251
        ("utf-8", ""),  # valid UTF-8: read as UTF-8
    ]
    for index, (encoding, suffix) in enumerate(forms):
        url = (
            f"/sys/send.php?login=alice&psw={PASSWORD}&phones=7916000000{index}"
            f"&mes={percent(CYRILLIC, encoding)}&fmt=1{suffix}"
        )
        assert (await client.get(url)).text == f"{index + 1},1"
    rows = await stored(services)
    assert [r["text"] for r in rows] == [CYRILLIC] * len(forms)
    assert {(r["parts"], r["encoding"]) for r in rows} == {(1, 1)}  # one UCS-2 part


async def test_form_post_in_windows_1251(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    body = f"login=alice&psw={PASSWORD}&phones={MTS}&mes={percent(CYRILLIC, 'cp1251')}&fmt=1"
    response = await client.post(
        "/sys/send.php",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.text == "1,1"
    assert [r["text"] for r in await stored(services)] == [CYRILLIC]
