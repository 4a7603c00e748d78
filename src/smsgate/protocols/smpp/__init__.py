"""SMPP 3.4: one wire codec and session layer for the server, the upstream connectors and the simulator.

Codec (pure, no I/O)
    ``pdu.py``        one frozen dataclass per command (``SubmitSm``, ``DeliverSmResp`` …), SMPP 3.4 field
                      names; ``PDU_CLASSES``; ``error_response(request, status)``.
    ``tlv.py``        ``Tlvs``: every standard optional parameter typed by name, unknown tags kept.
    ``codec.py``      ``encode_pdu(pdu, sequence_number=None) -> bytes`` (the header's sequence number
                      when given), ``decode_pdu(frame) -> Pdu`` (strict; errors carry command_status,
                      sequence_number, command_id).
    ``framer.py``     ``PduFramer``: ``feed(chunk)`` then ``next_frame()``; bounded command_length.
    ``constants.py``  ``CommandId``, ``CommandStatus`` (with ``description``), ``MessageState``, TON/NPI.
    ``errors.py``     ``SmppError(status)`` and its subclasses (tree in that module).

Helpers (pure)
    ``coding.py``     data_coding → ``Alphabet``; ``decode_text`` / ``encode_text`` (GSM-7 unpacked,
                      IA5, Latin-1, UCS-2 with surrogate pairs).
    ``udh.py``        ``split_udh``, ``build_udh``, ``concatenation``, ``concat_udh`` (IEI 0x00 / 0x08).
    ``reassembly.py`` ``segment_of(pdu)`` (payload, UDH, concatenation from UDH or SAR) and the bounded,
                      time-limited ``Reassembler``.
    ``smpp_time.py``  absolute/relative SMPP times: ``schedule_delivery_time(text, now)``,
                      ``validity_period(text, now)``, ``format_absolute``, ``format_relative``.
    ``dlr.py``        ``DeliveryReceipt``, ``format_receipt`` (smsgate's exact text), ``parse_receipt``.
    ``states.py``     ``Role``, ``BindState``, ``check_request`` (which command in which bind state).
    ``window.py``     ``SequenceNumbers`` (1…0x7FFFFFFF, wrapping), ``InFlight`` deadlines.

asyncio
    ``session.py``    ``SmppSession(reader, writer, handler, role=…, clock=…, settings=SessionSettings())``:
                      answers enquire_link, enforces bind state, runs handlers at most
                      ``inbound_window`` at a time (beyond → ESME_RMSGQFUL), keeps ``window`` requests of
                      its own in flight with response timeouts, keep-alive, idle unbind, orderly unbind.
                      ``open_session(host, port, handler, clock=…)`` for an ESME.
    ``handler.py``    ``SmppHandler`` Protocol (``handle_bind``, ``handle_submit_sm`` …, ``session_closed``)
                      and ``BaseHandler`` answering ESME_RINVCMDID to whatever it does not override.
    ``listener.py``   ``SmppListener(handler_factory, clock, host=…, port=0)``: an async context manager
                      that runs one SMSC-role session per connection.

A server ingress is a handler::

    class SmppIngress(BaseHandler):
        async def handle_bind(self, session, pdu):
            account = await auth.bind_smpp(pdu.system_id, pdu.password, ip)  # → BindRefused
            return pdu.resp(system_id="smsgate")          # status 0 binds; anything else closes
        async def handle_submit_sm(self, session, pdu):
            segment = segment_of(pdu)                      # SmppError(status) on bad input
            text = decode_text(segment.payload, alphabet_of(pdu.data_coding))
            message_id = await sending.submit(...)         # durably stored first
            return pdu.resp(message_id=str(message_id))

    async with SmppListener(lambda: SmppIngress(services), clock, port=2775,
                            settings=SessionSettings(enquire_link_interval_s=0)) as listener: ...

and an upstream connector is an ESME session::

    session = await open_session(host, port, ConnectorHandler(...), clock=clock)
    await session.bind(BindTransceiver(system_id=..., password=...))
    response = await session.submit_sm(SubmitSm(...))     # SmppResponseTimeout, SmppError on nack
"""

from smsgate.protocols.smpp.codec import decode_pdu, encode_pdu
from smsgate.protocols.smpp.constants import CommandId, CommandStatus, MessageState
from smsgate.protocols.smpp.errors import (
    SmppDecodeError,
    SmppEncodeError,
    SmppError,
    SmppFramingError,
    SmppResponseTimeout,
    SmppSessionClosed,
)
from smsgate.protocols.smpp.framer import PduFramer
from smsgate.protocols.smpp.handler import BaseHandler, SmppHandler
from smsgate.protocols.smpp.listener import SmppListener
from smsgate.protocols.smpp.session import SessionSettings, SmppSession, open_session
from smsgate.protocols.smpp.states import BindState, Role
from smsgate.protocols.smpp.tlv import Tlvs

__all__ = [
    "BaseHandler",
    "BindState",
    "CommandId",
    "CommandStatus",
    "MessageState",
    "PduFramer",
    "Role",
    "SessionSettings",
    "SmppDecodeError",
    "SmppEncodeError",
    "SmppError",
    "SmppFramingError",
    "SmppHandler",
    "SmppListener",
    "SmppResponseTimeout",
    "SmppSession",
    "SmppSessionClosed",
    "Tlvs",
    "decode_pdu",
    "encode_pdu",
    "open_session",
]
