"""E-mail refusals end to end: send.php with ``mail=1`` → the dispatcher with the e-mail channel → a
real SMTP relay (aiosmtpd on 127.0.0.1) → status.php, on SQLite and PostgreSQL.

* A relay that refuses the recipient with a 5xx reply makes the message final with status 20 and
  the err of codes.md §3.1 ("e-mail: 5xx mailbox unknown / quota / domain missing / policy" →
  1 / 2 / 3 / 4), as channels/email/replies.py maps the reply (enhanced code first, basic code
  otherwise).
* An e-mail sender that is registered but still awaits its confirmation code (codes.md §5.3 status 3,
  http-api.md §8) is no approved sender: send.php ``mail=1`` refuses it with error 6 (http-api.md
  §2.1 ``sender``, §2.5) and stores nothing, until ``check_code`` makes it active.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx
import pytest

from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.codes import ErrCode
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.services.senders import SenderStatus
from tests.channels.test_email_delivery import PASSWORD, SENDER, history, send_mail, status
from tests.conftest import table_count
from tests.peers.smtp_relay import SmtpRelay
from tests.support.accounts import balance_of

UNVERIFIED = "news@shop.example"
CODE = re.compile(r"confirmation code: (\d{6})")


@pytest.fixture
async def alice(services: Services) -> str:
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    await services.senders.add(account, SENDER, approve=True)
    return "alice"


async def senders_php(client: httpx.AsyncClient, **params: str) -> Any:
    query = {"login": "alice", "psw": PASSWORD, "fmt": "3", **params}
    return (await client.get("/sys/senders.php", params=query)).json()


# Every row of the table in channels/email/replies.py, by enhanced code and by basic code alone.
REFUSALS = [
    # err 1: the mailbox does not exist (5.1.x addressing; 550, 551, 553).
    ("550 5.1.1 No such user here", ErrCode.NO_SUBSCRIBER),
    ("553 5.1.3 Bad recipient address syntax", ErrCode.NO_SUBSCRIBER),
    ("551 5.1.6 User has moved", ErrCode.NO_SUBSCRIBER),
    ("550 No such user", ErrCode.NO_SUBSCRIBER),
    ("551 User not local", ErrCode.NO_SUBSCRIBER),
    ("553 Mailbox name not allowed", ErrCode.NO_SUBSCRIBER),
    # err 2: quota (5.2.2; 552).
    ("552 5.2.2 Mailbox full", ErrCode.MAILBOX_FULL),
    ("552 Quota exceeded", ErrCode.MAILBOX_FULL),
    # err 3: the domain has no mail server (5.1.2, 5.1.10, 5.4.4; 521, 556).
    ("550 5.1.2 Domain not found", ErrCode.MAIL_SERVER_NOT_FOUND),
    ("556 5.1.10 Recipient domain has a null MX", ErrCode.MAIL_SERVER_NOT_FOUND),
    ("554 5.4.4 Unable to route", ErrCode.MAIL_SERVER_NOT_FOUND),
    ("521 Domain does not accept mail", ErrCode.MAIL_SERVER_NOT_FOUND),
    ("556 Domain does not accept mail", ErrCode.MAIL_SERVER_NOT_FOUND),
    # err 4: the mailbox is blocked or refused by policy (5.2.1, 5.7.x, others; 554, other 5xx).
    ("550 5.2.1 Mailbox disabled", ErrCode.MAILBOX_BLOCKED),
    ("550 5.7.1 Relaying denied", ErrCode.MAILBOX_BLOCKED),
    ("554 5.7.1 Rejected by policy", ErrCode.MAILBOX_BLOCKED),
    ("554 Transaction failed", ErrCode.MAILBOX_BLOCKED),
    ("555 Parameters not recognised", ErrCode.MAILBOX_BLOCKED),
]


def test_the_refusals_cover_errs_1_to_4() -> None:
    assert sorted({int(err) for _, err in REFUSALS}) == [1, 2, 3, 4]


@pytest.mark.parametrize(("reply", "err"), REFUSALS, ids=[r for r, _ in REFUSALS])
async def test_refused_recipient_is_status_20_with_the_err_of_the_reply(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    alice: str,
    reply: str,
    err: ErrCode,
) -> None:
    to = "ivan@example.ru"
    relay.refuse_rcpt(to, reply)
    sent = await send_mail(client, to=to)
    assert "error" not in sent, sent
    assert await status(client, sent, to) == (-1, 0)  # queued until the dispatcher hands it over
    await dispatcher.run_until_idle()
    assert await status(client, sent, to) == (20, int(err))
    assert await history(services) == [(20, int(err))]  # final at once: not retried, never status 0
    assert relay.received == []
    # Final is final: another round of the dispatcher leaves it alone, and the relay is not asked
    # again (its scripted refusal would be used up; the next RCPT would be accepted).
    await dispatcher.run_until_idle()
    assert await status(client, sent, to) == (20, int(err))
    assert relay.received == []


async def test_only_the_refused_recipient_fails(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    alice: str,
) -> None:
    relay.refuse_rcpt("full@example.ru", "552 5.2.2 Mailbox full")
    relay.refuse_rcpt("gone@example.ru", "550 5.1.1 No such user")
    sent = await send_mail(client, to="full@example.ru,ivan@example.ru,gone@example.ru")
    assert sent.get("cnt") == 3, sent
    await dispatcher.run_until_idle()
    assert await status(client, sent, "full@example.ru") == (20, int(ErrCode.MAILBOX_FULL))
    assert await status(client, sent, "gone@example.ru") == (20, int(ErrCode.NO_SUBSCRIBER))
    assert await status(client, sent, "ivan@example.ru") == (1, 0)
    assert [m.rcpt_tos for m in relay.received] == [("ivan@example.ru",)]


async def test_sender_awaiting_its_code_is_refused_until_confirmed(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    alice: str,
) -> None:
    added = await senders_php(client, add="1", mail=UNVERIFIED)
    assert "id" in added, added
    listed = await senders_php(client, get="1", all="1")
    kinds = {(r["sender"], r["type"], r["status"]) for r in listed}
    assert (UNVERIFIED, 2, int(SenderStatus.AWAITING_CODE)) in kinds
    # Not yet verified: error 6 with the request id (http-api.md §1.5, §2.5); nothing stored.
    refused = await send_mail(client, sender=UNVERIFIED, id="77")
    assert refused == {"error": "message is forbidden", "error_code": 6, "id": 77}
    assert await table_count(services, "messages") == 0
    assert await balance_of(services, "alice") == Decimal("100")
    await dispatcher.run_until_idle()
    assert relay.received == []
    # An attachment does not get a refused request through either, and is not kept.
    files = {"file1": ("a.txt", b"attached text", "text/plain")}
    refused = await send_mail(client, sender=UNVERIFIED, id="78", files=files)
    assert refused.get("error_code") == 6, refused
    assert await table_count(services, "mail_attachments") == 0
    # The code travels as a mail through the same relay; the right code makes the sender active.
    assert await senders_php(client, send_code="1", mail=UNVERIFIED) == {"result": "OK"}
    await dispatcher.run_until_idle()
    [code_mail] = relay.received
    assert code_mail.rcpt_tos == (UNVERIFIED,)
    body = code_mail.parsed().get_body(("plain",))
    assert body is not None
    found = CODE.search(body.get_content())
    assert found is not None, body.get_content()
    checked = await senders_php(client, check_code="1", mail=UNVERIFIED, code=found.group(1))
    assert checked == {"result": "OK"}
    # Now the same sender is accepted and the mail leaves from it.
    sent = await send_mail(client, sender=UNVERIFIED, id="79")
    assert "error" not in sent, sent
    await dispatcher.run_until_idle()
    assert await status(client, sent, "ivan@example.ru") == (1, 0)
    assert relay.received[-1].parsed()["From"] == UNVERIFIED
