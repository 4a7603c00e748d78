"""The SMSC simulator with a third-party ESME (smpplib), in process and as ``smsgate simulator smpp``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import warnings
from pathlib import Path

import pytest
import smpplib.client
import smpplib.smpp

from smsgate.protocols.smpp.codec import decode_pdu, encode_pdu
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.pdu import BindTransceiver, SubmitSm, SubmitSmResp
from smsgate.simulators.behaviour import Behaviour, format_id, preset
from smsgate.simulators.smsc import SmscSimulator
from tests.protocols.smpp.raw import WAIT_S, RawPeer
from tests.support.clock import ManualClock

SRC = Path(__file__).resolve().parents[2] / "src"


def smpplib_round(port: int, password: str = "secret") -> tuple[list[str], list[bytes]]:
    """Bind as a transceiver, submit two messages, read their receipts, unbind."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=WAIT_S, allow_unknown_opt_params=True)
    client.connect()
    receipts: list[bytes] = []
    ids: list[str] = []
    client.set_message_received_handler(lambda pdu: receipts.append(pdu.short_message))
    client.set_message_sent_handler(lambda pdu: ids.append(pdu.message_id.decode()))
    try:
        client.bind_transceiver(system_id="esme", password=password)
        for text in (b"one", b"two"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                client.send_message(
                    source_addr="smsgate",
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr="79161234567",
                    short_message=text,
                    registered_delivery=1,
                )
        while len(receipts) < 2 or len(ids) < 2:
            client.read_once()  # answers deliver_sm; hands submit_sm_resp to the sent handler
        client.unbind()
    finally:
        client.disconnect()
    return ids, receipts


async def test_smpplib_submits_and_gets_receipts(clock: ManualClock) -> None:
    async with SmscSimulator(clock, Behaviour(id_format="hex")) as smsc:
        ids, receipts = await asyncio.to_thread(smpplib_round, smsc.port)
    assert ids == ["00000001", "00000002"]
    assert all(r.startswith(b"id:") and b"stat:DELIVRD" in r for r in receipts)
    assert len(smsc.receipts_acknowledged) == 2


async def test_credentials_are_checked_when_configured(clock: ManualClock) -> None:
    behaviour = Behaviour(credentials=(("esme", "right"),))
    async with SmscSimulator(clock, behaviour) as smsc:
        with pytest.raises(smpplib.exceptions.PDUError) as refused:
            await asyncio.to_thread(smpplib_round, smsc.port, "wrong")
    assert refused.value.args[1] == CommandStatus.ESME_RINVPASWD


def test_presets_and_id_formats() -> None:
    assert preset("throttling").throttle_every == 3
    assert preset("slow", latency_s=0.001).latency_s == 0.001
    assert [format_id(26, f) for f in ("decimal", "hex", "hex_lower")] == ["26", "0000001A", "1a"]
    with pytest.raises(ValueError, match="id formats"):
        Behaviour(id_format="base64")


async def test_the_cli_runs_a_simulator_smpplib_can_use() -> None:
    environ = {**os.environ, "PYTHONPATH": str(SRC)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsgate",
        "simulator",
        "smpp",
        "--port",
        "0",
        "--behaviour",
        "happy",
        "--latency",
        "0.001",
        stdout=asyncio.subprocess.PIPE,
        env=environ,
    )
    assert process.stdout is not None
    try:
        banner = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert "listening on 127.0.0.1:" in banner, banner
        port = int(banner.rsplit(":", 1)[1])
        ids, receipts = await asyncio.to_thread(smpplib_round, port)
        assert ids == ["1", "2"] and len(receipts) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        summary = (await asyncio.wait_for(process.stdout.read(), 20)).decode()
        await asyncio.wait_for(process.wait(), 20)
    assert "accepted 2" in summary
    assert process.returncode == 0


async def test_latency_runs_from_arrival_and_a_read_is_answered_in_one_write(
    clock: ManualClock,
) -> None:
    async with (
        SmscSimulator(clock, Behaviour(latency_s=1.0, receipts="none")) as smsc,
        await RawPeer.connect(smsc.port) as peer,
    ):
        await peer.send(BindTransceiver(1, system_id="esme", password="pw"))
        assert (await peer.next_pdu()).command_status == CommandStatus.ESME_ROK
        submits = [SubmitSm(n, destination_addr="79161234567") for n in (2, 3, 4)]
        await peer.send(b"".join(encode_pdu(pdu) for pdu in submits))  # one read, one arrival
        await asyncio.wait_for(smsc.wait_received(3), WAIT_S)
        await clock.advance(0.999)
        assert smsc.in_flight == 3  # not yet due
        await clock.advance(0.001)
        data = await asyncio.wait_for(peer.reader.read(65536), WAIT_S)
        peer.framer.feed(data)  # all three in the first read: they left in one write
        frames = [peer.framer.next_frame() for _ in submits]
    responses = [decode_pdu(frame) for frame in frames if frame is not None]
    assert [(r.sequence_number, r.command_status) for r in responses] == [(2, 0), (3, 0), (4, 0)]
    assert all(isinstance(r, SubmitSmResp) for r in responses)
