"""Charset rules of http-api.md §1.3 that concern what a client reads back and how parts are decoded.

Replies are encoded in the request's ``charset``: a character that charset cannot hold becomes ``?`` in
fmt 0, 1 and 3 and a numeric character reference ``&#N;`` in fmt 2. The user text echoed back here is
a message text (status.php ``all=1``) and a template's name and text (templates.php ``get=1``, a List).
A multipart part that declares its own charset is decoded with it, whatever the request's charset
and however the rest of the request is detected. ``utf8`` and ``cp1251`` are aliases of ``utf-8`` and
``windows-1251`` for decoding and for the reply.
"""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from urllib.parse import quote

import httpx
import pytest

from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from tests.ingress.http.compat.test_send_clients import MTS, PASSWORD, multipart, stored

# Cyrillic and ё fit both Russian charsets; € and — fit windows-1251 only; 😀 and ä fit neither.
# "<", ">" and "&" are ordinary characters that XML escapes, unlike the references.
TEXT = "Цена 5€ — <ok> & 😀 ä, ёж"
QUESTION_MARKS = {
    "windows-1251": "Цена 5€ — <ok> & ? ?, ёж",
    "koi8-r": "Цена 5? ? <ok> & ? ?, ёж",
}
REFERENCES = {
    "windows-1251": "Цена 5€ — &lt;ok&gt; &amp; &#128512; &#228;, ёж",
    "koi8-r": "Цена 5&#8364; &#8212; &lt;ok&gt; &amp; &#128512; &#228;, ёж",
}
CHARSETS = list(QUESTION_MARKS)
FMTS = ["0", "1", "2", "3"]
WAITING = "Ожидает отправки"  # codes.md §2, status -1: representable in every charset
CYRILLIC = "Привет, мир! Ёжик"
BOUNDARY = "--------------------------048115231960734510284366"


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("2.50")))
    return account


async def send_utf8(client: httpx.AsyncClient, text: str) -> None:
    params = {"login": "alice", "psw": PASSWORD, "phones": MTS, "mes": text, "id": "7"}
    response = await client.get("/sys/send.php", params={**params, "fmt": "3"})
    assert response.json() == {"id": 7, "cnt": 1}


async def get(client: httpx.AsyncClient, endpoint: str, **params: str) -> httpx.Response:
    query = {"login": "alice", "psw": PASSWORD, **params}
    response = await client.get(f"/sys/{endpoint}.php", params=query)
    assert response.status_code == 200
    assert response.content
    return response


def decoded(response: httpx.Response, fmt: str, charset: str) -> str:
    """The body read in ``charset``, after checking that the reply says it is in it."""
    media = {"0": "text/plain", "1": "text/plain", "2": "text/xml", "3": "application/json"}[fmt]
    assert response.headers["content-type"] == f"{media}; charset={charset}"
    text = response.content.decode(charset)  # strict: every byte is the charset's
    if fmt == "2":
        assert text.startswith(f'<?xml version="1.0" encoding="{charset}"?>\n')
    return text


# --- characters the reply charset cannot hold ----------------------------------------------------


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("charset", CHARSETS)
async def test_status_text_outside_the_reply_charset(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, charset: str, fmt: str
) -> None:
    await send_utf8(client, TEXT)
    assert [r["text"] for r in await stored(services)] == [TEXT]  # stored as sent
    response = await get(client, "status", id="7", phone=MTS, all="1", fmt=fmt, charset=charset)
    body = decoded(response, fmt, charset)
    replaced = QUESTION_MARKS[charset]
    if fmt == "0":
        assert body.endswith(
            f", status_name = {WAITING}, message = {replaced}, comment = , type = 0"
        )
    elif fmt == "1":
        assert body.endswith(f",{WAITING},{replaced},,0")
    elif fmt == "2":
        assert f"<status_name>{WAITING}</status_name><message>{REFERENCES[charset]}</message>" in (
            body
        )
    else:
        reply = json.loads(body)
        assert (reply["status_name"], reply["message"]) == (WAITING, replaced)


@pytest.mark.parametrize("fmt", FMTS)
async def test_status_text_in_utf8_is_unchanged(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    """UTF-8, the default reply charset, holds every character: nothing is replaced."""
    await send_utf8(client, TEXT)
    body = decoded(await get(client, "status", id="7", phone=MTS, all="1", fmt=fmt), fmt, "utf-8")
    if fmt == "2":
        assert "<message>Цена 5€ — &lt;ok&gt; &amp; 😀 ä, ёж</message>" in body
    elif fmt == "3":
        assert json.loads(body)["message"] == TEXT
    else:
        assert TEXT in body
    content = body.partition("?>\n")[2] if fmt == "2" else body  # past the XML declaration
    assert "?" not in content and "&#" not in content


@pytest.mark.parametrize("fmt", FMTS)
async def test_list_reply_outside_the_charset(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    """templates.php ``get=1`` (a List of several records) in koi8-r."""
    for name, msg in (("Евро €", TEXT), ("Смайл 😀", "Привет")):
        added = await get(client, "templates", add="1", name=name, msg=msg, fmt="3")
        assert "id" in added.json()
    body = decoded(
        await get(client, "templates", get="1", fmt=fmt, charset="koi8-r"), fmt, "koi8-r"
    )
    marks = QUESTION_MARKS["koi8-r"]
    expected = {
        "0": "id = 1, name = Евро ?, format = , sender = , autosign = 0, msg = "
        f"{marks}\nid = 2, name = Смайл ?, format = , sender = , autosign = 0, msg = Привет",
        "1": f"1,Евро ?,,,0,{marks}\n2,Смайл ?,,,0,Привет",
        "2": '<?xml version="1.0" encoding="koi8-r"?>\n<list><item><id>1</id><name>Евро &#8364;'
        f"</name><format></format><sender></sender><autosign>0</autosign><msg>"
        f"{REFERENCES['koi8-r']}</msg></item><item><id>2</id><name>Смайл &#128512;</name>"
        "<format></format><sender></sender><autosign>0</autosign><msg>Привет</msg></item></list>",
    }
    if fmt == "3":
        assert [(t["name"], t["msg"]) for t in json.loads(body)] == [
            ("Евро ?", marks),
            ("Смайл ?", "Привет"),
        ]
    else:
        assert body == expected[fmt]


async def test_error_reply_in_the_request_charset(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    """Errors are encoded like any reply (the envelope itself is ASCII)."""
    response = await get(client, "status", id="7", phone=MTS, all="9", fmt="2", charset="koi8-r")
    body = decoded(response, "2", "koi8-r")
    assert body.endswith(
        "<result><error>parameters error</error><error_code>1</error_code></result>"
    )


# --- a multipart part with a charset of its own --------------------------------------------------


def form(fields: dict[str, str], parts: dict[str, tuple[bytes, str]]) -> bytes:
    """A multipart body: plain fields (UTF-8, no part Content-Type), then parts with their
    bytes and ``Content-Type: text/plain; charset=<cs>``."""
    body = multipart(fields, BOUNDARY).removesuffix(f"--{BOUNDARY}--\r\n".encode())
    for name, (data, charset) in parts.items():
        body += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n'
                f"Content-Type: text/plain; charset={charset}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return body + f"--{BOUNDARY}--\r\n".encode()


async def post_form(
    client: httpx.AsyncClient,
    endpoint: str,
    fields: dict[str, str],
    parts: dict[str, tuple[bytes, str]],
) -> httpx.Response:
    response = await client.post(
        f"/sys/{endpoint}.php",
        content=form({"login": "alice", "psw": PASSWORD, **fields}, parts),
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 200
    return response


@pytest.mark.parametrize(
    ("request_charset", "part_charset"),
    [
        ("utf-8", "windows-1251"),
        ("utf-8", "koi8-r"),
        ("koi8-r", "windows-1251"),
        ("windows-1251", "utf-8"),
        ("", "KOI8-R"),
    ],
)
async def test_part_with_its_own_charset(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    request_charset: str,
    part_charset: str,
) -> None:
    fields = {"phones": MTS, "fmt": "3"} | ({"charset": request_charset} if request_charset else {})
    mes = (CYRILLIC.encode(part_charset), part_charset)
    response = await post_form(client, "send", fields, {"mes": mes})
    assert response.headers["content-type"] == (
        f"application/json; charset={request_charset or 'utf-8'}"
    )
    assert response.json() == {"id": 1, "cnt": 1}
    assert [r["text"] for r in await stored(services)] == [CYRILLIC]


async def test_part_charset_does_not_change_the_detection_of_the_rest(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    """Without ``charset`` the request is UTF-8 when its other values are: a windows-1251 part that
    says so does not make the whole request windows-1251 (http-api.md §1.3)."""
    msg = ("Текст шаблона".encode("windows-1251"), "windows-1251")
    response = await post_form(
        client, "templates", {"add": "1", "name": "Имя", "fmt": "3"}, {"msg": msg}
    )
    assert response.json() == {"id": 1}
    listed = (await get(client, "templates", get="1", fmt="3")).json()
    assert [(t["name"], t["msg"]) for t in listed] == [("Имя", "Текст шаблона")]


async def test_part_not_valid_in_its_charset_is_error_1(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    mes = (CYRILLIC.encode("windows-1251"), "utf-8")  # cp1251 bytes declared UTF-8
    response = await post_form(client, "send", {"phones": MTS, "fmt": "3"}, {"mes": mes})
    assert response.json() == {"error": "parameters error", "error_code": 1}
    assert await stored(services) == []


# --- the utf8 and cp1251 aliases -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "encoding"),
    [("utf8", "utf-8"), ("UTF8", "utf-8"), ("cp1251", "windows-1251"), ("CP1251", "windows-1251")],
)
async def test_charset_aliases(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, alias: str, encoding: str
) -> None:
    """An alias decodes the request and encodes the reply as the charset it names."""
    mes = quote(CYRILLIC.encode(encoding))
    url = f"/sys/send.php?login=alice&psw={PASSWORD}&phones={MTS}&id=7&fmt=1&charset={alias}"
    response = await client.get(f"{url}&mes={mes}")
    assert response.text == "7,1"
    assert [r["text"] for r in await stored(services)] == [CYRILLIC]

    for fmt in ("1", "2"):
        response = await get(client, "status", id="7", phone=MTS, all="1", fmt=fmt, charset=alias)
        media_charset = response.headers["content-type"].partition("charset=")[2]
        assert codecs.lookup(media_charset).name == codecs.lookup(encoding).name
        body = response.content.decode(encoding)
        assert CYRILLIC in body and WAITING in body
        if fmt == "2":
            declared = body.partition('encoding="')[2].partition('"')[0]
            assert codecs.lookup(declared).name == codecs.lookup(encoding).name


@pytest.mark.parametrize("alias", ["utf8", "cp1251"])
async def test_alias_reply_replaces_what_it_cannot_hold(
    client: httpx.AsyncClient, alice: AccountRecord, alias: str
) -> None:
    await send_utf8(client, TEXT)
    response = await get(client, "status", id="7", phone=MTS, all="1", fmt="3", charset=alias)
    expected = TEXT if alias == "utf8" else QUESTION_MARKS["windows-1251"]
    encoding = "utf-8" if alias == "utf8" else "windows-1251"
    assert json.loads(response.content.decode(encoding))["message"] == expected


async def test_alias_invalid_utf8_is_error_1(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    """``utf8`` is UTF-8 in full: bytes that are not UTF-8 are error 1, as under ``utf-8``."""
    mes = quote(CYRILLIC.encode("windows-1251"))
    response = await client.get(
        f"/sys/send.php?login=alice&psw={PASSWORD}&phones={MTS}&fmt=1&charset=utf8&mes={mes}"
    )
    assert response.text == "0,-1"
