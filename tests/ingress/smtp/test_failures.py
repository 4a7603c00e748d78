"""Every refusal of the SMTP ingress gets its documented reply (codes.md §7) and stores nothing."""

from __future__ import annotations

from decimal import Decimal

import aiosmtplib
import pytest
from sqlalchemy import select

from smsgate.ingress.smtp.server import SmtpServer
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.store.schema import send_failures
from tests.conftest import table_count
from tests.ingress.smtp.conftest import (
    INVALID,
    MTS,
    PASSWORD,
    Alice,
    balance,
    deliver,
    mail,
    stored,
    transaction,
)

CREDS = f"alice:{PASSWORD}"


async def nothing_stored(services: Services) -> bool:
    return await stored(services) == [] and await balance(services) == Decimal("100")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("alice:pw:only:five:fields", (550, "5.6.0 ERROR = 1 (parameters error)")),
        (f"{CREDS}:::,13:{MTS}:x", (550, "5.6.0 ERROR = 1 (parameters error)")),
        (f"{CREDS}:::,,,2:{MTS}:x", (550, "5.6.0 ERROR = 1 (parameters error)")),
        (f"{CREDS}:::3:{MTS}:x", (550, "5.6.0 ERROR = 1 (parameters error)")),
        (f"{CREDS}::::{MTS}:", (550, "5.6.0 ERROR = 1 (parameters error)")),
        (f"{CREDS}:bad id!:::{MTS}:x", (550, "5.6.0 ERROR = 1 (parameters error)")),
        (f"{CREDS}::9999999999:::{MTS}:x", (550, "5.6.0 ERROR = 5 (invalid date format)")),
        ("alice:wrong::::79161234567:x", (535, "5.7.8 ERROR = 2 (authorise error)")),
        (f":sg_unknown::::{MTS}:x", (535, "5.7.8 ERROR = 2 (authorise error)")),
        ("al'ice:x::::79161234567:x", (550, "5.6.0 ERROR = 1 (parameters error)")),
        (f"{CREDS}::::{INVALID}:x", (550, "5.1.3 ERROR = 7 (invalid phone number), ID - 1")),
        (f"{CREDS}:::,,Unknown:{MTS}:x", (550, "5.7.1 ERROR = 6 (message is forbidden), ID - 1")),
    ],
)
async def test_bad_body(
    services: Services,
    smtp_server: SmtpServer,
    alice: Alice,
    body: str,
    expected: tuple[int, str],
) -> None:
    assert await deliver(smtp_server.ports["smtp"], mail(body)) == expected
    assert await nothing_stored(services)


async def test_not_enough_money(services: Services, smtp_server: SmtpServer, alice: Alice) -> None:
    await services.accounts.top_up("alice", Decimal("-99"))
    reply = await deliver(smtp_server.ports["smtp"], mail(f"{CREDS}:7:::{MTS}:x"))
    assert reply == (550, "5.7.1 ERROR = 3 (not enough money), ID - 7")
    assert await stored(services) == []


async def test_duplicate_mail_within_a_minute(
    services: Services, smtp_server: SmtpServer, alice: Alice
) -> None:
    message = mail(f"{CREDS}::::{MTS}:same text")
    assert (await deliver(smtp_server.ports["smtp"], message))[0] == 250
    duplicate = await deliver(smtp_server.ports["smtp"], message)
    assert duplicate == (550, "5.7.1 ERROR = 9 (duplicate request, wait a minute)")
    assert len(await stored(services)) == 1


async def test_unknown_and_mixed_recipients(
    services: Services, smtp_server: SmtpServer, alice: Alice
) -> None:
    port = smtp_server.ports["smtp"]
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
        await smtp.mail("a@b.test")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as unknown:
            await smtp.rcpt("postmaster@smsgate.test")
        assert (unknown.value.code, unknown.value.message[:5]) == (550, "5.1.1")
        assert (await smtp.rcpt("send@smsgate.test")).code == 250
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as mixed:
            await smtp.rcpt(f"{MTS}@smsgate.test")
        assert (mixed.value.code, mixed.value.message[:5]) == (550, "5.5.1")
    assert await nothing_stored(services)


async def test_more_than_100_recipients(smtp_server: SmtpServer, alice: Alice) -> None:
    port = smtp_server.ports["smtp"]
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
        await smtp.mail("a@b.test")
        for n in range(100):
            assert (await smtp.rcpt(f"7916{n:07d}@smsgate.test")).code == 250
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await smtp.rcpt("79169999999@smsgate.test")
        assert (refused.value.code, refused.value.message[:5]) == (452, "4.5.3")


async def test_over_100_kb(services: Services, smtp_server: SmtpServer, alice: Alice) -> None:
    port = smtp_server.ports["smtp"]
    big = mail(f"{CREDS}::::{MTS}:" + ("x" * 78 + "\r\n") * 1_300)  # > 102,400 octets
    assert await deliver(port, big) == (552, "5.3.4 message too big")
    # Declared up front with SIZE=: refused at MAIL FROM.
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
        await smtp.ehlo()
        assert "size" in smtp.esmtp_extensions and smtp.esmtp_extensions["size"] == "102400"
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await smtp.mail("a@b.test", options=["SIZE=102401"])
        assert (refused.value.code, refused.value.message) == (552, "5.3.4 message too big")
        # The connection stays usable.
        reply = await transaction(smtp, mail(f"{CREDS}::::{MTS}:small"))
        assert reply[0] == 250
    assert len(await stored(services)) == 1


async def test_bad_credentials_lock_the_ip_out(
    services: Services, smtp_server: SmtpServer, alice: Alice
) -> None:
    """Five failures in the window block the IP (http-api.md §1.7), for SMTP and HTTP alike."""
    port = smtp_server.ports["smtp"]
    for attempt in range(5):
        body = f"alice:wrong{attempt}::::{MTS}:x"
        assert (await deliver(port, mail(body)))[0] == 535
    blocked = await deliver(port, mail(f"{CREDS}::::{MTS}:x"))
    assert blocked == (450, "4.7.1 ERROR = 4 (IP is temporarily blocked)")
    assert await table_count(services, "ip_blocks") == 1
    assert await nothing_stored(services)


async def test_too_many_concurrent_requests(
    services: Services, smtp_server: SmtpServer, alice: Alice
) -> None:
    # Another 14 requests of alice in progress on this node (limits.concurrent = 15).
    slots = [await services.guards.acquire_slot("alice") for _ in range(14)]
    try:
        reply = await deliver(smtp_server.ports["smtp"], mail(f"{CREDS}::::{MTS}:x"))
    finally:
        for slot in slots:
            await services.guards.release_slot(slot)
    assert reply == (451, "4.7.1 ERROR = 9 (too many concurrent requests)")
    assert await nothing_stored(services)


async def test_disabled_account(services: Services, smtp_server: SmtpServer, alice: Alice) -> None:
    await services.accounts.change("alice", AccountChanges(disabled=True))
    reply = await deliver(smtp_server.ports["smtp"], mail(f"{CREDS}::::{MTS}:x"))
    assert reply == (535, "5.7.8 ERROR = 2 (authorise error)")


async def test_storage_unavailable_is_a_transient_reply(
    services: Services, smtp_server: SmtpServer, alice: Alice
) -> None:
    """The writer is down: ``451 4.3.0``, and the client may try again later."""
    await services.writer.close()
    reply = await deliver(smtp_server.ports["smtp"], mail(f"{CREDS}::::{MTS}:x"))
    assert reply[0] == 451 and reply[1].startswith("4.3.0")


async def test_a_failed_send_counts_toward_the_failed_send_lockout(
    services: Services, smtp_server: SmtpServer, alice: Alice
) -> None:
    """A refused mail is a failed send (100 in a row block the IP); a stored one ends the run."""
    port = smtp_server.ports["smtp"]
    await deliver(port, mail(f"{CREDS}::::{INVALID}:x"))
    async with services.db.read() as conn:
        rows = (await conn.execute(select(send_failures.c.ip, send_failures.c.count))).all()
    assert [tuple(r) for r in rows] == [("127.0.0.1", 1)]
    assert (await deliver(port, mail(f"{CREDS}::::{MTS}:x")))[0] == 250
    assert await table_count(services, "send_failures") == 0
