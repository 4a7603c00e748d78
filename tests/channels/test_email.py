"""The e-mail channel against a real SMTP relay (aiosmtpd on 127.0.0.1): what is sent, and what the
relay's answers become."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from email.message import EmailMessage

import pytest

from smsgate.channels.base import (
    Accepted,
    DeliveryState,
    OutgoingMessage,
    PermanentFailure,
    RouteFailure,
    TransientFailure,
)
from smsgate.channels.email import EmailChannel
from smsgate.channels.email.relay import RelayState
from smsgate.config import EmailSettings, Seconds
from smsgate.domain.codes import ErrCode, MessageStatus, MessageType
from smsgate.domain.email_delivery import MailAttachment, opened_message
from tests.peers.smtp_relay import SmtpRelay
from tests.support.clock import ManualClock
from tests.support.tls import self_signed_certificate

SECRET = "tracking-secret"


def settings_for(relay: SmtpRelay, **changes: object) -> EmailSettings:
    base = EmailSettings(
        host="127.0.0.1",
        port=relay.port,
        default_from="noreply@gateway.test",
        helo_name="smsgate.test",
        pool_size=2,
        reconnect=Seconds(30),
        track_url="https://sms.example/",
        track_secret=SECRET,
    )
    return replace(base, **changes)  # type: ignore[arg-type] # test-only overrides


@pytest.fixture
async def channel(relay: SmtpRelay, clock: ManualClock) -> AsyncIterator[EmailChannel]:
    async with EmailChannel(settings_for(relay), clock) as channel:
        yield channel


def mail(
    message_id: int = 1,
    to: str = "ivan@example.ru",
    text: str = "Привет, мир",
    subject: str = "Тема письма",
    sender: str | None = "shop@example.ru",
    **options: str,
) -> OutgoingMessage:
    return OutgoingMessage(
        id=message_id,
        phone=to,
        msg_type=MessageType.MAIL,
        sender=sender,
        text=text,
        parts=1,
        encoding=1,
        options=json.dumps({"subj": subject, **options}, ensure_ascii=False),
        test=False,
    )


def available(channel: EmailChannel) -> bool:
    """Read afresh each time (mypy would keep a narrowed property across clock advances)."""
    return channel.available


def relay_state(channel: EmailChannel) -> RelayState:
    return channel.pool.state


def only(relay: SmtpRelay) -> EmailMessage:
    assert len(relay.received) == 1
    return relay.received[0].parsed()


async def test_a_mail_is_sent_and_delivered(channel: EmailChannel, relay: SmtpRelay) -> None:
    [outcome] = await channel.submit([mail()])
    assert isinstance(outcome, Accepted)
    assert outcome.provider_id.startswith("mail-1-")
    [receipt] = channel.due_receipts(0)
    assert (receipt.provider_id, receipt.state) == (outcome.provider_id, DeliveryState.DELIVERED)
    assert channel.due_receipts(0) == []
    received = relay.received[0]
    assert (received.mail_from, received.rcpt_tos) == ("noreply@gateway.test", ("ivan@example.ru",))
    parsed = only(relay)
    assert parsed["Subject"] == "Тема письма"
    assert parsed["From"] == "shop@example.ru"
    assert parsed["To"] == "ivan@example.ru"
    assert parsed["Message-ID"] == f"<{outcome.provider_id}@gateway.test>"
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().strip() == "Привет, мир"
    # RFC 2047 subject and a 7-bit body: any relay carries it.
    assert b"=?utf-8?" in received.content
    assert received.content.isascii()


async def test_html_mail_carries_a_tracking_pixel(channel: EmailChannel, relay: SmtpRelay) -> None:
    html = "<html><body><p>Скидки</p></body></html>"
    await channel.submit([mail(42, text=html)])
    parsed = only(relay)
    assert parsed.get_content_type() == "text/html"
    body = parsed.get_content()
    token = body.split("/t/", 1)[1].split(".gif", 1)[0]
    assert opened_message(SECRET.encode(), token) == 42
    assert body.index("sms.example/t/") < body.index("</body>")


async def test_plain_mail_has_no_pixel(channel: EmailChannel, relay: SmtpRelay) -> None:
    await channel.submit([mail(text="no markup here")])
    assert "/t/" not in only(relay).get_content()


async def test_sender_that_is_no_address_uses_the_default_from(
    channel: EmailChannel, relay: SmtpRelay
) -> None:
    await channel.submit([mail(sender="Shop"), mail(2, sender=None)])
    froms = sorted(str(m.parsed()["From"]) for m in relay.received)
    assert froms == ["Shop <noreply@gateway.test>", "noreply@gateway.test"]


async def test_attachments_are_read_once_per_hand_over(
    relay: SmtpRelay, clock: ManualClock
) -> None:
    reads: list[list[int]] = []

    async def source(ids: Sequence[int]) -> Sequence[MailAttachment]:
        reads.append(list(ids))
        return [
            MailAttachment(f"счёт-{i}.pdf", "application/pdf", b"%PDF-" + bytes([i])) for i in ids
        ]

    async with EmailChannel(settings_for(relay), clock, attachments=source) as channel:
        outcomes = await channel.submit([mail(1, att="7,8"), mail(2, to="b@example.ru", att="7,8")])
    assert all(isinstance(o, Accepted) for o in outcomes)
    assert reads == [[7, 8]]
    parsed = relay.received[0].parsed()
    files = [(p.get_filename(), p.get_content()) for p in parsed.iter_attachments()]
    assert files == [("счёт-7.pdf", b"%PDF-\x07"), ("счёт-8.pdf", b"%PDF-\x08")]


async def test_missing_attachments_fail_the_message(relay: SmtpRelay, clock: ManualClock) -> None:
    async def source(ids: Sequence[int]) -> Sequence[MailAttachment]:
        return []

    async with EmailChannel(settings_for(relay), clock, attachments=source) as channel:
        [outcome] = await channel.submit([mail(att="9")])
    assert outcome == PermanentFailure(MessageStatus.CANNOT_DELIVER, ErrCode.REJECTED_BY_OPERATOR)
    assert relay.received == []


@pytest.mark.parametrize(
    ("reply", "err"),
    [
        ("550 5.1.1 No such user", ErrCode.NO_SUBSCRIBER),
        ("550 No such user", ErrCode.NO_SUBSCRIBER),
        ("553 mailbox name not allowed", ErrCode.NO_SUBSCRIBER),
        ("552 5.2.2 Mailbox full", ErrCode.MAILBOX_FULL),
        ("552 Quota exceeded", ErrCode.MAILBOX_FULL),
        ("550 5.1.2 Domain not found", ErrCode.MAIL_SERVER_NOT_FOUND),
        ("556 5.1.10 Null MX", ErrCode.MAIL_SERVER_NOT_FOUND),
        ("550 5.2.1 Mailbox disabled", ErrCode.MAILBOX_BLOCKED),
        ("550 5.7.1 Relaying denied", ErrCode.MAILBOX_BLOCKED),
        ("554 Transaction failed", ErrCode.MAILBOX_BLOCKED),
    ],
)
async def test_permanent_refusals(
    channel: EmailChannel, relay: SmtpRelay, reply: str, err: ErrCode
) -> None:
    relay.refuse_rcpt("ivan@example.ru", reply)
    [outcome] = await channel.submit([mail()])
    assert outcome == PermanentFailure(MessageStatus.CANNOT_DELIVER, err)
    assert channel.due_receipts(0) == []


async def test_temporary_refusal_then_acceptance(channel: EmailChannel, relay: SmtpRelay) -> None:
    relay.refuse_rcpt("ivan@example.ru", "451 4.3.0 try again later")
    [first] = await channel.submit([mail()])
    assert isinstance(first, TransientFailure)
    [second] = await channel.submit([mail()])
    assert isinstance(second, Accepted)
    assert len(relay.received) == 1
    assert channel.pool.connects == 1  # the connection survived the refusal and was reused


async def test_refused_sender_is_an_unregistered_sender(
    channel: EmailChannel, relay: SmtpRelay
) -> None:
    relay.handler.mail_from_reply = "553 5.7.1 Sender not allowed"
    [outcome] = await channel.submit([mail()])
    assert outcome == PermanentFailure(MessageStatus.CANNOT_DELIVER, ErrCode.UNREGISTERED_SENDER)


async def test_one_refused_recipient_does_not_hold_up_the_batch(
    channel: EmailChannel, relay: SmtpRelay
) -> None:
    relay.refuse_rcpt("gone@example.ru", "550 5.1.1 No such user")
    batch = [mail(i, to=f"user{i}@example.ru") for i in range(1, 6)]
    batch.insert(2, mail(99, to="gone@example.ru"))
    outcomes = await channel.submit(batch)
    assert [type(o) for o in outcomes].count(Accepted) == 5
    assert outcomes[2] == PermanentFailure(MessageStatus.CANNOT_DELIVER, ErrCode.NO_SUBSCRIBER)
    assert len(channel.due_receipts(0)) == 5
    assert channel.pool.connects == 2  # pool_size connections side by side


async def test_test_mode_never_reaches_the_relay(channel: EmailChannel, relay: SmtpRelay) -> None:
    [outcome] = await channel.submit([replace(mail(), test=True)])
    assert isinstance(outcome, Accepted)
    [receipt] = channel.due_receipts(0)
    assert (receipt.state, receipt.err) == (DeliveryState.DELIVERED, ErrCode.VIRTUAL)
    assert relay.received == []


async def test_other_types_are_not_carried(channel: EmailChannel) -> None:
    [outcome] = await channel.submit([replace(mail(), msg_type=MessageType.SMS)])
    assert isinstance(outcome, RouteFailure)


async def test_international_addresses(channel: EmailChannel, relay: SmtpRelay) -> None:
    outcomes = await channel.submit([mail(1, to="ivan@пример.рф"), mail(2, to="иван@example.ru")])
    assert all(isinstance(o, Accepted) for o in outcomes)
    by_rcpt = {m.rcpt_tos[0]: m for m in relay.received}
    assert not by_rcpt["ivan@xn--e1afmkfd.xn--p1ai"].smtputf8
    assert by_rcpt["иван@example.ru"].smtputf8


async def test_utf8_local_part_on_a_relay_without_smtputf8(clock: ManualClock) -> None:
    relay = SmtpRelay(smtputf8=False)
    await relay.start()
    try:
        async with EmailChannel(settings_for(relay), clock) as channel:
            [outcome] = await channel.submit([mail(to="иван@example.ru")])
        assert isinstance(outcome, RouteFailure)
    finally:
        await relay.stop()


async def test_relay_down_then_up(clock: ManualClock) -> None:
    relay = SmtpRelay()  # the port is reserved but nothing listens: connections are refused
    try:
        async with EmailChannel(settings_for(relay), clock) as channel:
            outcomes = await channel.submit([mail(1), mail(2)])
            assert all(isinstance(o, TransientFailure) for o in outcomes)
            assert relay_state(channel) is RelayState.DOWN
            assert not available(channel)
            await clock.advance(29)
            assert not available(channel)
            await clock.advance(1)
            assert available(channel)  # one more try is due
            [still] = await channel.submit([mail(1)])
            assert isinstance(still, TransientFailure)
            assert not available(channel)
            await relay.start()
            await clock.advance(30)
            [outcome] = await channel.submit([mail(1)])
            assert isinstance(outcome, Accepted)
            assert relay_state(channel) is RelayState.UP
            assert len(relay.received) == 1
    finally:
        await relay.stop()


async def test_a_dropped_connection_is_replaced(
    channel: EmailChannel, relay: SmtpRelay, clock: ManualClock
) -> None:
    assert isinstance((await channel.submit([mail(1)]))[0], Accepted)
    await relay.stop()  # closes the pooled connection from the relay's side
    await relay.start()
    await clock.advance(60)  # idle long enough to be checked before reuse
    [outcome] = await channel.submit([mail(2)])
    assert isinstance(outcome, Accepted)
    assert channel.pool.connects == 2


async def test_a_connection_lost_mid_transaction_is_transient(
    channel: EmailChannel, relay: SmtpRelay
) -> None:
    assert isinstance((await channel.submit([mail(1)]))[0], Accepted)
    await relay.stop()  # the pooled connection dies while it looks fresh (no NOOP check)
    await relay.start()
    outcomes = await channel.submit([mail(2), mail(3)])
    assert sorted(type(o).__name__ for o in outcomes) == ["Accepted", "TransientFailure"]


@pytest.fixture(scope="module")
def relay_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1 (openssl from PATH)."""
    directory = tmp_path_factory.mktemp("relay-tls")
    cert, key = self_signed_certificate(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_tls_and_auth(relay_tls: ssl.SSLContext, clock: ManualClock, mode: str) -> None:
    relay = SmtpRelay(
        tls=relay_tls, implicit_tls=mode == "implicit", credentials=("gateway", "s3cret")
    )
    await relay.start()
    try:
        settings = settings_for(
            relay, tls=mode, verify_tls=False, username="gateway", password="s3cret"
        )
        async with EmailChannel(settings, clock) as channel:
            [outcome] = await channel.submit([mail()])
        assert isinstance(outcome, Accepted)
        assert relay.logins == ["gateway"]
        assert only(relay)["Subject"] == "Тема письма"
    finally:
        await relay.stop()


async def test_refused_auth_makes_the_relay_unavailable(
    relay_tls: ssl.SSLContext, clock: ManualClock
) -> None:
    relay = SmtpRelay(tls=relay_tls, credentials=("gateway", "s3cret"))
    await relay.start()
    try:
        settings = settings_for(
            relay, tls="starttls", verify_tls=False, username="gateway", password="wrong"
        )
        async with EmailChannel(settings, clock) as channel:
            [outcome] = await channel.submit([mail()])
            assert isinstance(outcome, TransientFailure)
            assert not available(channel)
        assert relay.received == []
    finally:
        await relay.stop()


async def test_plain_relay_refuses_a_starttls_channel(clock: ManualClock) -> None:
    relay = SmtpRelay()  # offers no STARTTLS: a channel that requires it must not send in clear
    await relay.start()
    try:
        async with EmailChannel(settings_for(relay, tls="starttls"), clock) as channel:
            [outcome] = await channel.submit([mail()])
            assert isinstance(outcome, TransientFailure)
            assert not available(channel)
        assert relay.received == []
    finally:
        await relay.stop()
