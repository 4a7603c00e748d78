"""The SMTP listeners with independent clients (aiosmtplib, smtplib): plain, STARTTLS, implicit
TLS, SMTP AUTH PLAIN/LOGIN (protocols.md §2.1), and the gateway wiring."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from smsgate.app import Gateway
from smsgate.config import Settings
from smsgate.ingress.smtp.server import SmtpServer
from smsgate.services.container import Services
from tests.conftest import make_settings, table_count
from tests.ingress.smtp.conftest import (
    MTS,
    PASSWORD,
    Alice,
    StartServer,
    mail,
    run_smtplib,
    status,
    stored,
    transaction,
)
from tests.support.clock import ManualClock

TO_SEND = ("send@smsgate.test",)
TO_MTS = (f"{MTS}@smsgate.test",)


async def test_ehlo_advertises_the_documented_extensions(smtp_server: SmtpServer) -> None:
    port = smtp_server.ports["smtp"]
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
        await smtp.ehlo()
        extensions = smtp.esmtp_extensions
        assert extensions["size"] == "102400"
        assert {"8bitmime", "smtputf8", "starttls"} <= set(extensions)
        # AUTH only once the connection is encrypted (smtp.auth_require_tls).
        assert "auth" not in extensions


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("transport", ["starttls", "implicit"])
async def test_aiosmtplib_with_auth(
    services: Services,
    client: httpx.AsyncClient,
    smtp_server: SmtpServer,
    alice: Alice,
    client_tls: ssl.SSLContext,
    transport: str,
    mechanism: str,
) -> None:
    implicit = transport == "implicit"
    port = smtp_server.ports["smtps" if implicit else "smtp"]
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=port,
        use_tls=implicit,
        start_tls=not implicit,
        tls_context=client_tls,
    ) as smtp:
        await smtp.ehlo()
        assert {"plain", "login"} <= set(smtp.server_auth_methods)
        if mechanism == "PLAIN":
            await smtp.auth_plain("alice", PASSWORD)
        else:
            await smtp.auth_login("alice", PASSWORD)
        # With AUTH the body needs no credentials (the login field may repeat the AUTH login).
        first = await transaction(smtp, mail(f":::::{MTS}:one"), to=TO_SEND)
        second = await transaction(smtp, mail(f"ALICE::::::{MTS}:two"), to=TO_SEND)
        assert [first, second] == [
            (250, "2.0.0 OK - 1 SMS, ID - 1"),
            (250, "2.0.0 OK - 1 SMS, ID - 2"),
        ]
    assert (await status(client, "2", MTS))["message"] == "two"


@pytest.mark.parametrize("transport", ["plain", "starttls", "implicit"])
async def test_smtplib(
    client: httpx.AsyncClient,
    smtp_server: SmtpServer,
    alice: Alice,
    client_tls: ssl.SSLContext,
    transport: str,
) -> None:
    """The standard library's client, the way scripts send mail: body credentials on a plain
    connection, AUTH over TLS."""
    if transport == "plain":
        reply = await run_smtplib(
            smtp_server.ports["smtp"], mail(f"alice:{PASSWORD}:1:::{MTS}:plain"), TO_SEND
        )
    else:
        implicit = transport == "implicit"
        reply = await run_smtplib(
            smtp_server.ports["smtps" if implicit else "smtp"],
            mail(f":::::{MTS}:secure", charset="utf-8"),
            TO_SEND,
            tls=implicit,
            starttls=not implicit,
            context=client_tls,
            login=("alice", PASSWORD),
        )
    assert reply == (250, "sent")
    expected = "plain" if transport == "plain" else "secure"
    assert (await status(client, "1", MTS))["message"] == expected


async def test_smtplib_sees_the_refusal(smtp_server: SmtpServer, alice: Alice) -> None:
    reply = await run_smtplib(smtp_server.ports["smtp"], mail("alice:x:1:::79161234567:x"), TO_SEND)
    assert reply == (535, "5.7.8 ERROR = 2 (authorise error)")


async def test_auth_with_an_api_key(
    services: Services, smtp_server: SmtpServer, alice: Alice, client_tls: ssl.SSLContext
) -> None:
    port = smtp_server.ports["smtps"]
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, use_tls=True, tls_context=client_tls
    ) as smtp:
        await smtp.login("alice", alice.api_key)
        assert (await transaction(smtp, mail("Hi", to=TO_MTS, subject="S"), to=TO_MTS))[0] == 250
    assert len(await stored(services)) == 1


@pytest.mark.parametrize(
    ("user", "password"),
    [("alice", "wrong"), ("nobody", PASSWORD), ("", PASSWORD), ("bob", "api-key")],
)
async def test_failed_auth_is_535_and_counts_toward_the_lockout(
    services: Services,
    smtp_server: SmtpServer,
    alice: Alice,
    client_tls: ssl.SSLContext,
    user: str,
    password: str,
) -> None:
    if password == "api-key":  # alice's key presented as bob
        await services.accounts.create("bob", PASSWORD)
        password = alice.api_key
    port = smtp_server.ports["smtps"]
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, use_tls=True, tls_context=client_tls
    ) as smtp:
        await smtp.ehlo()
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
            await smtp.auth_plain(user, password)
        assert (refused.value.code, refused.value.message) == (
            535,
            "5.7.8 ERROR = 2 (authorise error)",
        )
    assert await table_count(services, "auth_failures") == 1


async def test_auth_after_the_lockout_is_450(
    smtp_server: SmtpServer, alice: Alice, client_tls: ssl.SSLContext
) -> None:
    port = smtp_server.ports["smtps"]
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, use_tls=True, tls_context=client_tls
    ) as smtp:
        await smtp.ehlo()
        for _ in range(5):
            with pytest.raises(aiosmtplib.SMTPAuthenticationError):
                await smtp.auth_login("alice", "wrong")
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as blocked:
            await smtp.auth_login("alice", PASSWORD)
        assert (blocked.value.code, blocked.value.message) == (
            450,
            "4.7.1 ERROR = 4 (IP is temporarily blocked)",
        )


async def test_login_field_naming_another_account_is_535(
    services: Services, smtp_server: SmtpServer, alice: Alice, client_tls: ssl.SSLContext
) -> None:
    port = smtp_server.ports["smtps"]
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, use_tls=True, tls_context=client_tls
    ) as smtp:
        await smtp.login("alice", PASSWORD)
        reply = await transaction(smtp, mail(f"bob:{PASSWORD}::::{MTS}:x"), to=TO_SEND)
    assert reply == (535, "5.7.8 ERROR = 2 (authorise error)")
    assert await stored(services) == []


async def test_auth_on_a_plain_connection_when_tls_is_not_required(
    services: Services, with_settings: StartServer, alice: Alice
) -> None:
    server = await with_settings(auth_require_tls=False, tls_cert="", tls_key="", tls_port=None)
    assert set(server.ports) == {"smtp"}
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=server.ports["smtp"]) as smtp:
        assert "starttls" not in smtp.esmtp_extensions
        await smtp.login("alice", PASSWORD)
        assert (await transaction(smtp, mail(f":::::{MTS}:x"), to=TO_SEND))[0] == 250


async def test_bad_certificate_fails_at_start(
    services: Services, with_settings: StartServer, tmp_path: Path
) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(ssl.SSLError):
        await with_settings(tls_cert=str(bogus), tls_key=str(bogus))


async def test_close_stops_accepting(services: Services, with_settings: StartServer) -> None:
    server = await with_settings()
    assert server.listening() == {"smtp": True, "smtps": True}
    port = server.ports["smtp"]
    await server.close()
    assert server.listening() == {"smtp": False, "smtps": False}
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=5).connect()


async def test_gateway_runs_the_smtp_listener(
    settings: Settings, clock: ManualClock, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    configured = make_settings(
        settings.database.url,
        Path(settings.data_dir),
        SMSGATE_HTTP_PORT="0",
        SMSGATE_SMTP_PORT="0",
        SMSGATE_SMTP_TLS_PORT="0",
        SMSGATE_SMTP_TLS_CERT=str(cert),
        SMSGATE_SMTP_TLS_KEY=str(key),
    )
    async with Gateway(configured, clock, only=frozenset({"http", "smtp"})) as gateway:
        assert gateway.services is not None
        await gateway.services.accounts.create("carol", PASSWORD)
        assert {"http", "smtp", "smtps"} <= set(gateway.ports)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.ports['http']}") as web:
            health = (await web.get("/health")).json()
        assert health["listeners"] == {"http": True, "smtp": True, "smtps": True}
        body = mail(f"carol:{PASSWORD}::::{MTS}:x")
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=gateway.ports["smtp"], start_tls=False
        ) as smtp:
            # No tariff: the one recipient is rejected (25/248) → error 8, with the id.
            assert await transaction(smtp, body, to=TO_SEND) == (
                550,
                "5.1.3 ERROR = 8 (can't to deliver), ID - 1",
            )
        gateway.stop()
        await gateway.wait()


async def test_auth_logs_no_aiosmtpd_deprecation_warning(
    smtp_server: SmtpServer,
    alice: Alice,
    client_tls: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = smtp_server.ports["smtps"]
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, use_tls=True, tls_context=client_tls
    ) as smtp:
        await smtp.login("alice", PASSWORD)
    assert not [r for r in caplog.records if "deprecated" in r.getMessage()]
