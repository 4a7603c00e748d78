"""balance.php: every layout, currency, credit, charsets, credentials (http-api.md §4, §1.2)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import httpx
import pytest

from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services

PASSWORD = "correct-horse-1"


@pytest.fixture
async def alice(services: Services) -> str:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("250.8"))
    return "alice"


async def balance(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    response = await client.get("/sys/balance.php", params=params)
    assert response.status_code == 200
    assert response.content, "official clients treat an empty body as a transport failure"
    return response


@pytest.mark.parametrize(
    ("fmt", "cur", "expected"),
    [
        ("0", "", "250.80"),
        ("1", "", "250.80"),
        ("0", "1", "250.80,RUR"),
        ("1", "1", "250.80,RUR"),
        ("2", "", '<?xml version="1.0" encoding="utf-8"?>\n<balance>250.80</balance>'),
        (
            "2",
            "1",
            '<?xml version="1.0" encoding="utf-8"?>\n'
            "<result><balance>250.80</balance><currency>RUR</currency></result>",
        ),
        ("3", "", '{"balance": "250.80"}'),
        ("3", "1", '{"balance": "250.80", "currency": "RUR"}'),
    ],
)
async def test_layouts(
    client: httpx.AsyncClient, alice: str, fmt: str, cur: str, expected: str
) -> None:
    response = await balance(client, login=alice, psw=PASSWORD, fmt=fmt, cur=cur)
    assert response.text == expected


async def test_default_fmt_is_text(client: httpx.AsyncClient, alice: str) -> None:
    response = await balance(client, login=alice, psw=PASSWORD)
    assert response.text == "250.80"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("0", "text/plain"), ("1", "text/plain"), ("2", "text/xml"), ("3", "application/json")],
)
@pytest.mark.parametrize("charset", ["utf-8", "windows-1251", "koi8-r"])
async def test_content_type_follows_fmt_and_charset(
    client: httpx.AsyncClient, alice: str, fmt: str, media_type: str, charset: str
) -> None:
    response = await balance(client, login=alice, psw=PASSWORD, fmt=fmt, charset=charset)
    assert response.headers["content-type"] == f"{media_type}; charset={charset}"
    if fmt == "2":
        assert response.content.startswith(f'<?xml version="1.0" encoding="{charset}"?>'.encode())


async def test_credit_limit_is_shown(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    await services.accounts.change(alice, AccountChanges(credit_limit=Decimal("50")))
    await services.accounts.top_up(alice, Decimal("-300"))
    json_reply = await balance(client, login=alice, psw=PASSWORD, fmt="3", cur="1")
    assert json.loads(json_reply.text) == {
        "balance": "-49.20",
        "credit": "50.00",
        "currency": "RUR",
    }
    xml_reply = await balance(client, login=alice, psw=PASSWORD, fmt="2")
    assert xml_reply.text.endswith(
        "<result><balance>-49.20</balance><credit>50.00</credit></result>"
    )


async def test_money_is_rounded_half_up(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    await services.accounts.top_up(alice, Decimal("0.0050"))  # 250.8050
    assert (await balance(client, login=alice, psw=PASSWORD)).text == "250.81"


async def test_psw_as_md5_hex(client: httpx.AsyncClient, alice: str) -> None:
    digest = hashlib.md5(PASSWORD.encode(), usedforsecurity=False).hexdigest()
    for form in (digest, digest.upper()):
        assert (await balance(client, login=alice, psw=form, fmt="1")).text == "250.80"


async def test_login_is_case_insensitive(client: httpx.AsyncClient, alice: str) -> None:
    assert (await balance(client, login="ALICE", psw=PASSWORD)).text == "250.80"


async def test_post_form_is_the_same_as_get(client: httpx.AsyncClient, alice: str) -> None:
    response = await client.post(
        "/sys/balance.php", data={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert response.json() == {"balance": "250.80"}


async def test_body_value_wins_over_query(client: httpx.AsyncClient, alice: str) -> None:
    response = await client.post(
        "/sys/balance.php?fmt=1&psw=wrong-password",
        data={"login": alice, "psw": PASSWORD, "fmt": "3"},
    )
    assert response.json() == {"balance": "250.80"}


async def test_multipart_post(client: httpx.AsyncClient, alice: str) -> None:
    response = await client.post(
        "/sys/balance.php",
        data={"login": alice, "psw": PASSWORD, "fmt": "3"},
        files={"file0": ("a.txt", b"ignored", "text/plain")},
    )
    assert response.json() == {"balance": "250.80"}


async def test_api_key_forms(services: Services, client: httpx.AsyncClient, alice: str) -> None:
    record, key = await services.accounts.new_api_key(alice)
    assert (await balance(client, apikey=key, fmt="1")).text == "250.80"
    # An empty login means psw is an API key.
    assert (await balance(client, login="", psw=key, fmt="1")).text == "250.80"
    # The API key wins over login/psw.
    assert (await balance(client, login=alice, psw="wrong", apikey=key, fmt="1")).text == "250.80"
    await services.accounts.revoke_api_key(alice, record.id)
    assert (await balance(client, apikey=key, fmt="1")).text == "0,-2"
    assert (await balance(client, login="", psw=key, fmt="1")).text == "0,-2"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("0", "ERROR = 2 (authorise error)"),
        ("1", "0,-2"),
        (
            "2",
            '<?xml version="1.0" encoding="utf-8"?>\n'
            "<result><error>authorise error</error><error_code>2</error_code></result>",
        ),
        ("3", '{"error": "authorise error", "error_code": 2}'),
    ],
)
async def test_wrong_password_is_error_2(
    client: httpx.AsyncClient, alice: str, fmt: str, expected: str
) -> None:
    assert (await balance(client, login=alice, psw="wrong-password", fmt=fmt)).text == expected


async def test_unknown_login_and_missing_credentials(client: httpx.AsyncClient) -> None:
    assert (await balance(client, login="nobody", psw="whatever", fmt="1")).text == "0,-2"
    assert (await balance(client, fmt="1")).text == "0,-2"


async def test_disabled_account_is_error_2(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    await services.accounts.change(alice, AccountChanges(disabled=True))
    assert (await balance(client, login=alice, psw=PASSWORD, fmt="1")).text == "0,-2"


async def test_password_change_drops_cached_verification(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    assert (await balance(client, login=alice, psw=PASSWORD, fmt="1")).text == "250.80"
    await services.accounts.change(alice, AccountChanges(password="another-secret-9"))
    assert (await balance(client, login=alice, psw=PASSWORD, fmt="1")).text == "0,-2"
    assert (await balance(client, login=alice, psw="another-secret-9", fmt="1")).text == "250.80"
