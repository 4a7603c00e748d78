"""The shared request pipeline: malformed input, lockouts, allow-lists, limits (http-api.md §1)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.store.repos import guards as guard_repo
from tests.conftest import ClientFactory
from tests.support.clock import ManualClock

PASSWORD = "correct-horse-1"


@pytest.fixture
async def alice(services: Services) -> str:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("10"))
    return "alice"


def error_code(response: httpx.Response) -> int:
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, dict)
    return int(body["error_code"])


# --- malformed input: error 1, never a 500 -------------------------------------------------------


@pytest.mark.parametrize("fmt", ["4", "-1", "x", "1'; DROP TABLE accounts; --", "3.0"])
async def test_bad_fmt_is_error_1_in_fmt_0(client: httpx.AsyncClient, alice: str, fmt: str) -> None:
    response = await client.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": fmt}
    )
    assert response.status_code == 200
    assert response.text == "ERROR = 1 (parameters error)"


@pytest.mark.parametrize("charset", ["latin-1", "utf-16", "x' OR '1'='1"])
async def test_unknown_charset_is_error_1(
    client: httpx.AsyncClient, alice: str, charset: str
) -> None:
    params = {"login": alice, "psw": PASSWORD, "fmt": "3", "charset": charset}
    response = await client.get("/sys/balance.php", params=params)
    assert error_code(response) == 1


async def test_invalid_utf8_under_utf8_charset_is_error_1(
    client: httpx.AsyncClient, alice: str
) -> None:
    response = await client.get(f"/sys/balance.php?login={alice}&psw=%FF%FE%FA&fmt=3&charset=utf-8")
    assert error_code(response) == 1


async def test_without_charset_invalid_utf8_is_read_as_windows_1251(
    services: Services, client: httpx.AsyncClient
) -> None:
    password = "пароль-секрет"
    await services.accounts.create("bob", password)
    cp1251 = "".join(f"%{b:02X}" for b in password.encode("windows-1251"))
    response = await client.get(f"/sys/balance.php?login=bob&psw={cp1251}&fmt=3")
    assert response.json() == {"balance": "0.00"}
    utf8 = "".join(f"%{b:02X}" for b in password.encode("utf-8"))
    response = await client.get(f"/sys/balance.php?login=bob&psw={utf8}&fmt=3")
    assert response.json() == {"balance": "0.00"}
    koi8 = "".join(f"%{b:02X}" for b in password.encode("koi8-r"))
    response = await client.get(f"/sys/balance.php?login=bob&psw={koi8}&fmt=3&charset=koi8-r")
    assert response.json() == {"balance": "0.00"}


@pytest.mark.parametrize("name", ["login", "psw", "apikey", "fmt", "cur", "junk"])
async def test_one_megabyte_parameter_is_error_1(
    client: httpx.AsyncClient, alice: str, name: str
) -> None:
    params = {"login": alice, "psw": PASSWORD, "fmt": "3", name: "A" * 1_000_000}
    response = await client.post("/sys/balance.php", data=params)
    assert response.status_code == 200
    # fmt itself may be the huge one: then the error is rendered in fmt 0.
    assert response.text in (
        '{"error": "parameters error", "error_code": 1}',
        "ERROR = 1 (parameters error)",
    )


async def test_body_over_max_body_is_error_1_in_query_fmt(
    make_client: ClientFactory, services: Services, alice: str
) -> None:
    client = make_client()
    body = b"x=" + b"A" * (services.settings.http.max_body + 10)
    response = await client.post(
        "/sys/balance.php?fmt=3",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert error_code(response) == 1


@pytest.mark.parametrize(
    "login", ["' OR '1'='1", "alice'--", "alice; DROP TABLE accounts", 'a"b', "al ice", "%00"]
)
async def test_sql_metacharacters_in_login_are_error_1(
    services: Services, client: httpx.AsyncClient, alice: str, login: str
) -> None:
    response = await client.get(
        "/sys/balance.php", params={"login": login, "psw": PASSWORD, "fmt": "3"}
    )
    assert error_code(response) == 1
    assert await services.accounts.count() == 1


async def test_sql_metacharacters_in_password_are_just_wrong(
    client: httpx.AsyncClient, alice: str
) -> None:
    response = await client.get(
        "/sys/balance.php", params={"login": alice, "psw": "' OR 1=1 --", "fmt": "3"}
    )
    assert error_code(response) == 2


async def test_malformed_multipart_is_error_1(client: httpx.AsyncClient, alice: str) -> None:
    response = await client.post(
        "/sys/balance.php?fmt=3",
        content=b'--xyz\r\nContent-Disposition: form-data; name="login"\r\n\r\nalice',
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code == 200
    assert error_code(response) in (1, 2)
    response = await client.post(
        "/sys/balance.php?fmt=3", content=b"junk", headers={"content-type": "multipart/form-data"}
    )
    assert error_code(response) == 1


async def test_unknown_path_is_404_and_other_methods_405(client: httpx.AsyncClient) -> None:
    assert (await client.get("/sys/nothing.php")).status_code == 404
    assert (await client.get("/sys/balance")).status_code == 404
    assert (await client.put("/sys/balance.php")).status_code == 405
    assert (await client.delete("/sys/balance.php")).status_code == 405


# --- lockouts ------------------------------------------------------------------------------------


async def wrong_login(client: httpx.AsyncClient, login: str = "alice") -> int:
    response = await client.get(
        "/sys/balance.php", params={"login": login, "psw": "wrong-pass", "fmt": "3"}
    )
    return error_code(response)


async def test_sixth_wrong_login_from_an_ip_is_error_4(
    make_client: ClientFactory, clock: ManualClock, alice: str
) -> None:
    attacker = make_client("203.0.113.7")
    assert [await wrong_login(attacker) for _ in range(5)] == [2, 2, 2, 2, 2]
    assert await wrong_login(attacker) == 4
    # Even the right password is refused while the IP is blocked, on every endpoint.
    response = await attacker.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert error_code(response) == 4
    # Another IP is not affected.
    other = make_client("203.0.113.8")
    response = await other.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert response.json() == {"balance": "10.00"}
    # The block ends after 30 minutes.
    await clock.advance(30 * 60 + 1)
    response = await attacker.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert response.json() == {"balance": "10.00"}


async def test_failures_outside_the_window_do_not_add_up(
    make_client: ClientFactory, clock: ManualClock, alice: str
) -> None:
    client = make_client("203.0.113.9")
    for _ in range(4):
        assert await wrong_login(client) == 2
    await clock.advance(31 * 60)
    for _ in range(4):
        assert await wrong_login(client) == 2


async def test_unknown_logins_count_toward_the_lockout(
    make_client: ClientFactory, alice: str
) -> None:
    client = make_client("203.0.113.10")
    codes = [await wrong_login(client, login=f"user{i}") for i in range(6)]
    assert codes == [2, 2, 2, 2, 2, 4]


async def test_allow_listed_ip_is_not_locked_out(
    services: Services, make_client: ClientFactory, alice: str
) -> None:
    await services.accounts.change(alice, AccountChanges(allowed_ips="198.51.100.0/24"))
    office = make_client("198.51.100.20")
    assert [await wrong_login(office) for _ in range(10)] == [2] * 10
    response = await office.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert response.json() == {"balance": "10.00"}


async def test_allow_listed_ip_passes_even_when_blocked_for_others(
    services: Services, make_client: ClientFactory, alice: str
) -> None:
    office = make_client("198.51.100.20")
    for _ in range(5):
        await wrong_login(office, login="mallory")
    assert await wrong_login(office, login="mallory") == 4
    await services.accounts.change(alice, AccountChanges(allowed_ips="198.51.100.20"))
    response = await office.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert response.json() == {"balance": "10.00"}


async def test_ip_outside_allow_list_is_error_2(
    services: Services, make_client: ClientFactory, alice: str
) -> None:
    await services.accounts.change(
        alice, AccountChanges(allowed_ips="198.51.100.0/24, 2001:db8::/32")
    )
    outside = make_client("203.0.113.50")
    response = await outside.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert error_code(response) == 2
    inside6 = make_client("2001:db8::5")
    response = await inside6.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert response.json() == {"balance": "10.00"}
    # An API key does not bypass the allow-list.
    _, key = await services.accounts.new_api_key(alice)
    response = await outside.get("/sys/balance.php", params={"apikey": key, "fmt": "3"})
    assert error_code(response) == 2


async def test_lockout_holds_across_nodes(
    services: Services, make_client: ClientFactory, clock: ManualClock, alice: str
) -> None:
    """A block written by another node (a row in the shared store) applies here too, within the
    refresh interval of the in-memory block list."""
    client = make_client("203.0.113.77")
    response = await client.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert response.json() == {"balance": "10.00"}

    async def block(conn: AsyncConnection) -> None:
        await guard_repo.block_ip(conn, "203.0.113.77", "auth", clock.now() + 600)

    await services.writer.submit(block)
    await clock.advance(1)
    response = await client.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert error_code(response) == 4


# --- request limits ------------------------------------------------------------------------------


async def test_eleventh_balance_request_in_a_minute_is_error_9(
    client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    params = {"login": alice, "psw": PASSWORD, "fmt": "3"}
    for i in range(10):
        response = await client.get("/sys/balance.php", params={**params, "n": str(i)})
        assert response.json() == {"balance": "10.00"}
    response = await client.get("/sys/balance.php", params=params)
    assert response.json() == {"error": "too many requests", "error_code": 9}
    await clock.advance(61)
    response = await client.get("/sys/balance.php", params=params)
    assert response.json() == {"balance": "10.00"}


async def test_fifteenth_concurrent_request_is_error_9(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    """14 requests of the login in progress (here and on two other nodes): the next is refused."""

    async def publish(conn: AsyncConnection) -> None:
        await guard_repo.publish_inflight(conn, "node-a", {alice: 6}, clock.now())
        await guard_repo.publish_inflight(conn, "node-b", {alice: 4, "bob": 15}, clock.now())

    await services.writer.submit(publish)
    for _ in range(4):
        await services.guards.acquire_slot(alice)  # four on this node
    params = {"login": alice, "psw": PASSWORD, "fmt": "3"}
    response = await client.get("/sys/balance.php", params=params)
    assert response.json() == {"error": "too many concurrent requests", "error_code": 9}
    await services.guards.release_slot(alice)
    response = await client.get("/sys/balance.php", params=params)
    assert response.json() == {"balance": "10.00"}


async def test_this_node_publishes_its_requests_in_progress(
    services: Services, clock: ManualClock, alice: str
) -> None:
    token = await services.guards.acquire_slot(alice)
    await services.guards.publish_slots()
    async with services.db.read() as conn:
        seen = await guard_repo.other_nodes_inflight(conn, "another-node", clock.now() - 5)
    assert seen[alice] == 1
    await services.guards.release_slot(token)
    await services.guards.publish_slots()
    async with services.db.read() as conn:
        seen = await guard_repo.other_nodes_inflight(conn, "another-node", clock.now() - 5)
    assert seen[alice] == 0


async def test_requests_of_a_silent_node_stop_counting(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    async def publish(conn: AsyncConnection) -> None:
        await guard_repo.publish_inflight(conn, "dead-node", {alice: 20}, clock.now())

    await services.writer.submit(publish)
    await clock.advance(services.settings.limits.concurrent_stale + 1)
    response = await client.get(
        "/sys/balance.php", params={"login": alice, "psw": PASSWORD, "fmt": "3"}
    )
    assert response.json() == {"balance": "10.00"}


async def test_slot_is_released_after_the_request(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    params = {"login": alice, "psw": PASSWORD, "fmt": "3"}
    await client.get("/sys/balance.php", params=params)
    assert services.guards.in_progress(alice) == 0
