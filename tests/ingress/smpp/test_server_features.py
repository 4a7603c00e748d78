"""The SMPP server's less travelled paths (protocols.md §3): operations it refuses, receipt TLVs,
the per-account submit rate, Latin-1 and binary data_coding, SAR concatenation and the TLS listener.

Interop checks go through smpplib, an independent ESME; where smpplib has no operation (submit_multi,
cancel_sm) our own ESME session speaks, on the test's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import smpplib.client
from sqlalchemy import select

from smsgate.channels.simulator import SimulatorChannel
from smsgate.config import Settings
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.codes import MessageType
from smsgate.domain.pricing import TariffRule
from smsgate.ingress.smpp.server import SmppServer
from smsgate.protocols.smpp.constants import CommandStatus, MessageState
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.pdu import (
    BindTransceiver,
    CancelSm,
    DataSm,
    ReplaceSm,
    SmeAddress,
    SubmitMulti,
    SubmitSm,
)
from smsgate.protocols.smpp.session import SmppSession, open_session
from smsgate.protocols.smpp.states import Role
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.store.schema import messages
from tests.conftest import make_settings, table_count
from tests.ingress.smpp.test_server import (
    PASSWORD,
    SMPP_PASSWORD,
    WAIT_S,
    bound,
    in_thread,
    read_deliveries,
    status_php,
    submit,
)
from tests.support.clock import ManualClock
from tests.support.tls import self_signed_certificate

PRICE = Decimal("1.5")
PHONE = "79161234567"


@pytest.fixture
async def alice(services: Services) -> None:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.accounts.change(
        "alice", AccountChanges(smpp_password=SMPP_PASSWORD, allowed_ips="127.0.0.1")
    )
    await services.tariffs.set(TariffRule(price=PRICE))


@contextlib.asynccontextmanager
async def serve(
    services: Services, clock: ManualClock, **changes: Any
) -> AsyncIterator[SmppServer]:
    """Our SMPP server on 127.0.0.1:0 with ``changes`` to the configured ``smpp`` settings."""
    settings = replace(services.settings.smpp, **changes)
    async with SmppServer(services, settings, clock, host="127.0.0.1", node="test") as server:
        yield server


@pytest.fixture
async def server(services: Services, clock: ManualClock, alice: None) -> AsyncIterator[SmppServer]:
    async with serve(services, clock) as opened:
        yield opened


@contextlib.asynccontextmanager
async def esme(session: SmppSession) -> AsyncIterator[SmppSession]:
    """``session`` bound as alice's transceiver; unbound and closed on the way out."""
    async with session:
        await session.bind(BindTransceiver(system_id="alice", password=SMPP_PASSWORD))
        yield session


async def our_esme(port: int, clock: ManualClock) -> SmppSession:
    return await open_session("127.0.0.1", port, BaseHandler(), clock=clock)


def sms(text: str, phone: str = PHONE, **fields: Any) -> SubmitSm:
    return SubmitSm(
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=phone,
        short_message=text.encode("ascii"),
        **fields,
    )


async def stored_row(services: Services, message_id: str) -> Any:
    async with services.db.read() as conn:
        found = await conn.execute(
            select(
                messages.c.msg_type, messages.c.text, messages.c.parts, messages.c.options
            ).where(messages.c.id == int(message_id))
        )
        return found.one()


# --- §3.9: operations smsgate does not offer --------------------------------------------------


async def test_submit_multi_is_answered_with_its_own_response_not_supported(
    server: SmppServer, services: Services, clock: ManualClock
) -> None:
    async with esme(await our_esme(server.ports["smpp"], clock)) as session:
        multi = SubmitMulti(
            dest_addresses=(SmeAddress(1, 1, PHONE), SmeAddress(1, 1, "79161234568")),
            short_message=b"to many",
        )
        # submit_multi_resp, not generic_nack: the session raises on a nack or another response.
        answer = await session.submit_multi(multi)
        assert answer.command_status == CommandStatus.ESME_RINVCMDID
        assert answer.unsuccess_smes == ()
        replaced = await session.replace_sm(ReplaceSm(message_id="1", short_message=b"x"))
        assert replaced.command_status == CommandStatus.ESME_RINVCMDID
        data = await session.data_sm(DataSm(dest_addr_ton=1, destination_addr=PHONE))
        assert data.command_status == CommandStatus.ESME_RINVCMDID
        # The session stays bound and in order after the refusals.
        assert (await session.submit_sm(sms("still bound"))).command_status == 0
    assert await table_count(services, "messages") == 1


# --- §3.7: receipt TLVs --------------------------------------------------------------------------


async def test_receipts_carry_receipted_message_id_and_message_state(
    server: SmppServer, services: Services, clock: ManualClock
) -> None:
    port = server.ports["smpp"]

    def transmit() -> list[str]:
        client = bound(port, "transmitter")
        ids = [
            submit(
                client, short_message=text, destination_addr=phone, registered_delivery=1
            ).message_id.decode()
            for text, phone in (
                (b"delivered", PHONE),
                # ending in 0: the simulator's unknown subscriber (status 20, err 1)
                (b"undelivered", "79161234560"),
                (b"cancelled", "79161234569"),
            )
        ]
        client.unbind()
        client.disconnect()
        return ids

    delivered, undelivered, cancelled = await in_thread(clock, transmit)
    async with esme(await our_esme(port, clock)) as session:
        assert (await session.cancel_sm(CancelSm(message_id=cancelled))).command_status == 0
    receiver = await in_thread(clock, lambda: bound(port, "receiver"))
    dispatcher = Dispatcher(services.writer, [SimulatorChannel(clock)], clock, seed=1)
    await dispatcher.run_until_idle()
    await clock.advance(5)  # the simulator's receipts come after its latency
    await dispatcher.run_until_idle()

    read = await in_thread(clock, lambda: read_deliveries(receiver, 3))
    receipts = {r.receipted_message_id.decode(): r for r in read}
    assert set(receipts) == {delivered, undelivered, cancelled}
    ok, failed, deleted = receipts[delivered], receipts[undelivered], receipts[cancelled]
    assert ok.message_state == MessageState.DELIVERED  # 2
    assert b"stat:DELIVRD err:000" in ok.short_message
    assert ok.network_error_code is None  # err 0: no network_error_code
    assert failed.message_state == MessageState.UNDELIVERABLE  # 5
    assert b"stat:UNDELIV err:001" in failed.short_message
    assert failed.network_error_code == b"\x03\x00\x01"  # type 3 (SMPP), err 1 on two octets
    assert deleted.message_state == MessageState.DELETED  # 4
    assert b"stat:DELETED" in deleted.short_message
    assert all(r.esm_class == 0x04 for r in receipts.values())


# --- §3.3: the per-account submit rate ----------------------------------------------------------


async def test_submits_beyond_the_account_rate_are_throttled_then_accepted_again(
    services: Services, clock: ManualClock, alice: None
) -> None:
    async with serve(services, clock, max_rate=2) as server:
        port = server.ports["smpp"]
        async with (
            esme(await our_esme(port, clock)) as first,
            esme(await our_esme(port, clock)) as second,
        ):
            n = iter(range(100))

            async def status(session: SmppSession) -> int:
                text = f"rate test {next(n)}"  # distinct texts: no duplicate refusals
                return (await session.submit_sm(sms(text))).command_status

            # Two a second, counted over both sessions of the account.
            assert [await status(first), await status(second)] == [0, 0]
            throttled = await first.submit_sm(sms("one too many"))
            assert throttled.command_status == CommandStatus.ESME_RTHROTTLED
            assert throttled.message_id == ""
            assert await status(second) == CommandStatus.ESME_RTHROTTLED
            await clock.advance(0.5)  # one more token
            assert [await status(second), await status(first)] == [0, CommandStatus.ESME_RTHROTTLED]
            await clock.advance(1.0)  # two more
            assert [await status(first), await status(second)] == [0, 0]
            assert await status(first) == CommandStatus.ESME_RTHROTTLED
    assert await table_count(services, "messages") == 5  # only what was accepted is stored


# --- §3.5: data_coding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_coding", "text"),
    [
        (0x03, "Grüße aus Köln: ½ © ±"),  # ISO-8859-1
        (0x04, "Déjà vu, señor? ¿Qué? Ø"),  # read as ISO-8859-1 text, not as binary (§3.5)
    ],
)
async def test_latin1_data_codings_are_stored_as_text(
    server: SmppServer,
    services: Services,
    clock: ManualClock,
    client: httpx.AsyncClient,
    data_coding: int,
    text: str,
) -> None:
    def work() -> Any:
        smpplib_esme = bound(server.ports["smpp"])
        answer = submit(smpplib_esme, data_coding=data_coding, short_message=text.encode("latin-1"))
        smpplib_esme.unbind()
        smpplib_esme.disconnect()
        return answer

    answer = await in_thread(clock, work)
    assert answer.status == 0
    shown = await status_php(client, answer.message_id.decode(), PHONE)
    assert shown["message"] == text and shown["type"] == MessageType.SMS
    assert shown["status"] == -1
    row = await stored_row(services, answer.message_id.decode())
    assert (row.msg_type, row.text) == (MessageType.SMS, text)


WAP_PUSH = bytes.fromhex("0605040b8423f0") + b"\x01\x06\x03\xae\x81\xea"  # UDH: 16-bit ports


async def submit_binary(
    port: int, clock: ManualClock, data_coding: int, octets: bytes, **fields: Any
) -> str:
    def work() -> Any:
        smpplib_esme = bound(port)
        answer = submit(smpplib_esme, data_coding=data_coding, short_message=octets, **fields)
        smpplib_esme.unbind()
        smpplib_esme.disconnect()
        return answer

    answer = await in_thread(clock, work)
    assert answer.status == 0
    message_id: str = answer.message_id.decode()
    return message_id


@pytest.mark.parametrize(
    ("data_coding", "esm_class", "octets"),
    [(0x02, 0, b"\x01\x02\xfe\xff"), (0xF4, 0, b"\x00\x7f\x80"), (0xF5, 0x40, WAP_PUSH)],
)
async def test_binary_data_codings_are_stored_as_binary_messages(
    server: SmppServer,
    services: Services,
    clock: ManualClock,
    client: httpx.AsyncClient,
    data_coding: int,
    esm_class: int,
    octets: bytes,
) -> None:
    """§3.5: 0x02 and 0xF4–0xF7 are a binary message (type 2); the UDH travels with the octets."""
    port = server.ports["smpp"]
    message_id = await submit_binary(port, clock, data_coding, octets, esm_class=esm_class)
    shown = await status_php(client, message_id, PHONE)
    assert shown["type"] == MessageType.BIN and shown["status"] == -1
    row = await stored_row(services, message_id)
    assert (row.msg_type, row.text, row.parts) == (MessageType.BIN, octets.hex(), 1)


async def test_a_binary_submit_keeps_its_dcs_and_protocol_id(
    server: SmppServer, services: Services, clock: ManualClock
) -> None:
    """§3.5: a binary message "with the given DCS"; §3.4: protocol_id "kept (TP-PID of binary
    messages)". They are stored as the ``dcs`` and ``pid`` options, as bin=2 over HTTP with
    ``~~~pid: X, dcs: Y`` (§1.4). A WAP push: TP-PID 0x7F, DCS 0xF5 (8-bit, class 1)."""
    port = server.ports["smpp"]
    message_id = await submit_binary(port, clock, 0xF5, WAP_PUSH, esm_class=0x40, protocol_id=0x7F)
    row = await stored_row(services, message_id)
    assert row.msg_type == MessageType.BIN
    options = json.loads(row.options)
    assert (options["dcs"], options["pid"]) == (str(0xF5), str(0x7F))


# --- §3.6: SAR concatenation ---------------------------------------------------------------------


async def test_a_sar_concatenated_message_is_stored_once_under_one_id(
    server: SmppServer, services: Services, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    text = "SAR segment text, " * 25  # 450 GSM-7 characters: three parts
    parts = [text[i : i + 153] for i in range(0, len(text), 153)]
    assert len(parts) == 3

    def work() -> list[Any]:
        smpplib_esme = bound(server.ports["smpp"])
        # Part 2 first and part 1 twice: every answer carries the id of the first one to arrive.
        answers = [
            submit(
                smpplib_esme,
                short_message=parts[seq - 1].encode("ascii"),
                sar_msg_ref_num=0x1234,
                sar_total_segments=3,
                sar_segment_seqnum=seq,
            )
            for seq in (2, 1, 1, 3)
        ]
        smpplib_esme.unbind()
        smpplib_esme.disconnect()
        return answers

    answers = await in_thread(clock, work)
    assert [a.status for a in answers] == [0, 0, 0, 0]
    ids = {a.message_id.decode() for a in answers}
    assert len(ids) == 1
    message_id = ids.pop()
    shown = await status_php(client, message_id, PHONE)
    assert shown["message"] == text and shown["sms_cnt"] == 3
    assert Decimal(shown["cost"]) == 3 * PRICE
    assert await table_count(services, "messages") == 1
    row = await stored_row(services, message_id)
    assert (row.text, row.parts) == (text, 3)


# --- §3.1: the TLS listener ----------------------------------------------------------------------


@pytest.fixture
def tls_settings(settings: Settings, tmp_path: Path) -> tuple[Settings, Path]:
    """smpp.tls_port / smpp.tls_cert / smpp.tls_key as the environment sets them."""
    cert, key = self_signed_certificate(tmp_path)
    loaded = make_settings(
        settings.database.url,
        tmp_path,
        SMSGATE_SMPP_TLS_PORT="0",
        SMSGATE_SMPP_TLS_CERT=str(cert),
        SMSGATE_SMPP_TLS_KEY=str(key),
    )
    return loaded, cert


async def test_the_tls_listener_binds_and_takes_submits(
    services: Services,
    clock: ManualClock,
    client: httpx.AsyncClient,
    alice: None,
    tls_settings: tuple[Settings, Path],
) -> None:
    loaded, cert = tls_settings
    smpp_settings = loaded.smpp
    assert smpp_settings.tls_port == 0 and smpp_settings.tls_cert
    async with SmppServer(services, smpp_settings, clock, host="127.0.0.1", node="test") as server:
        assert set(server.ports) == {"smpp", "smpps"}
        assert server.ports["smpps"] != server.ports["smpp"]
        port = server.ports["smpps"]

        # Our session over a verified TLS stream (certificate and host name: IP SAN 127.0.0.1).
        verified = ssl.create_default_context(cafile=str(cert))
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=verified), WAIT_S
        )
        session = SmppSession(reader, writer, BaseHandler(), role=Role.ESME, clock=clock)
        async with esme(session):
            ours = await session.submit_sm(sms("over TLS"))
        assert ours.command_status == 0

        # smpplib over TLS (it wraps without a server name: the chain is checked, not the name).
        chain_only = ssl.create_default_context(cafile=str(cert))
        chain_only.check_hostname = False

        def smpplib_over_tls() -> Any:
            smpplib_esme = smpplib.client.Client(
                "127.0.0.1",
                port,
                timeout=WAIT_S,
                ssl_context=chain_only,
                allow_unknown_opt_params=True,
            )
            smpplib_esme.connect()
            smpplib_esme.bind_transceiver(system_id="alice", password=SMPP_PASSWORD)
            answer = submit(
                smpplib_esme, destination_addr="79161234568", short_message=b"smpplib TLS"
            )
            smpplib_esme.unbind()
            smpplib_esme.disconnect()
            return answer

        theirs = await in_thread(clock, smpplib_over_tls)
        assert theirs.status == 0
    first = await status_php(client, ours.message_id, PHONE)
    second = await status_php(client, theirs.message_id.decode(), "79161234568")
    assert (first["message"], second["message"]) == ("over TLS", "smpplib TLS")
