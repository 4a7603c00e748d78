"""A simulated operator SMSC on our own SMPP session layer (issue 5; Jasmin-style scripted behaviours).

``SmscSimulator(clock, behaviour)`` is an async context manager: ``__aenter__`` listens (port 0 picks
a free port, read back from ``.port``); ``__aexit__`` stops listening, stops its receipt tasks, unbinds
and closes every session. Any ESME binds (or only those in ``behaviour.credentials``); it submits,
the simulator answers as its :class:`Behaviour` says, and for every accepted submit_sm it delivers a
receipt — DELIVRD, or UNDELIV err 1 for the share ``1 - delivery_ratio`` — as deliver_sm or data_sm
to a bound receiver or transceiver (preferring one of the same system_id), retrying while none is
bound or the ESME answers ``ESME_RX_T_APPN`` / throttles.

The latency before a submit_sm_resp runs from the submit's arrival (the read that brought it,
:attr:`SmppSession.last_received`), not from when its handler got to run. Submits due at the same
instant (every submit of one read, without jitter) wait on one timer, and their responses leave in
one write, as an SMSC answering a burst would send them.

What happened is kept for tests and benchmarks: ``accepted`` (every submit_sm answered ESME_ROK),
``received`` (all submit_sm), ``max_in_flight`` (most submit_sm being answered at once: the
ESME's effective window), ``arrivals`` (clock.monotonic() of each submit_sm: its rate),
``receipts_acknowledged`` and ``binds``. :meth:`wait_idle` waits until no receipt is pending.

Incoming messages (MO): :meth:`send_mo` delivers an SMS from a subscriber to an ESME's number as
deliver_sm (concatenated with UDH when long, ``protocols/smpp/mo.py``), and ``behaviour.reply_text``
makes every accepted submit_sm answered by such an SMS from its destination; ``mo_acknowledged``
lists the texts whose every part the ESME answered ``ESME_ROK``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from smsgate.clock import Clock, utc_datetime
from smsgate.protocols.smpp.constants import CommandStatus, EsmClass, MessageState
from smsgate.protocols.smpp.dlr import DeliveryReceipt, format_receipt
from smsgate.protocols.smpp.errors import SmppError, SmppSessionClosed
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.mo import mo_pdus
from smsgate.protocols.smpp.pdu import (
    Bind,
    BindResp,
    DataSm,
    DeliverSm,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
)
from smsgate.protocols.smpp.session import SessionSettings, SmppSession
from smsgate.protocols.smpp.states import BindState, Role
from smsgate.protocols.smpp.tlv import Tlvs
from smsgate.simulators.behaviour import Behaviour, format_id
from smsgate.simulators.precise_timer import PreciseTimer

log = logging.getLogger(__name__)

SYSTEM_ID = "smsgate-sim"
_RETRY_STATUSES = frozenset(
    {CommandStatus.ESME_RX_T_APPN, CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL}
)
_RECEIVERS = (BindState.BOUND_RX, BindState.BOUND_TRX)
_BOUND = frozenset({BindState.BOUND_TX, BindState.BOUND_RX, BindState.BOUND_TRX})


@dataclass(frozen=True, slots=True)
class _Due:
    """A submit_sm waiting for the end of its latency."""

    session: SmppSession
    pdu: SubmitSm
    waiter: asyncio.Future[bool]  # True once answered (on_time) or free to be answered
    on_time: bool  # answered by the timer's wake-up itself (SmscSimulator._release_now)


@dataclass(frozen=True, slots=True)
class AcceptedSubmit:
    number: int  # the simulator's message number (its id before formatting)
    message_id: str  # as written in submit_sm_resp
    system_id: str
    pdu: SubmitSm


class SmscSimulator:
    def __init__(
        self,
        clock: Clock,
        behaviour: Behaviour | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        system_id: str = SYSTEM_ID,
        settings: SessionSettings | None = None,
        precise_latency: bool = False,
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        # With the real clock: latency measured to the microsecond (simulators/precise_timer.py).
        self._precise_latency = precise_latency
        self._timer: PreciseTimer | None = None
        self.system_id = system_id
        self.accepted: list[AcceptedSubmit] = []
        self.received = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.arrivals: list[float] = []
        self.receipts_acknowledged: list[str] = []
        self.receipts_refused: list[tuple[str, int]] = []
        self.mo_acknowledged: list[str] = []
        self.binds = 0
        self.sessions: set[SmppSession] = set()
        self._clock = clock
        self._host, self._requested_port = host, port
        self._settings = settings or SessionSettings(
            inbound_window=1000, enquire_link_interval_s=0, idle_timeout_s=0
        )
        self._rng = random.Random(self.behaviour.seed)  # latency jitter only
        self._numbers = 0
        self._mo_refs = 0
        self._fired: set[str] = set()
        self._broken: set[SmppSession] = (
            set()
        )  # a corrupt PDU was written: nothing more is answered
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connections: set[asyncio.Task[Any]] = set()
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._changed = asyncio.Event()  # set and replaced whenever a session binds
        self._arrived: asyncio.Event | None = None  # made by a waiter, set by the next submit_sm
        self._due: dict[float, list[_Due]] = {}  # submits waiting for an instant

    # --- lifecycle ---------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator is not listening")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def __aenter__(self) -> SmscSimulator:
        if self._server is not None:
            raise RuntimeError("simulator already started")
        self._server = await asyncio.start_server(self._accept, self._host, self._requested_port)
        if self._precise_latency:
            self._timer = PreciseTimer.create()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for session in list(self.sessions):
            if session.state.is_bound:
                with contextlib.suppress(SmppError, ConnectionError):
                    await session.unbind()
            await session.close()
        await asyncio.gather(*self._tasks, *self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        if self._timer is not None:
            self._timer.close()

    async def wait_idle(self) -> None:
        """Until every receipt of an accepted submit has been delivered (or refused for good)."""
        await self._idle.wait()

    async def wait_binds(self, count: int) -> None:
        """Until ``count`` binds have succeeded since the start."""
        while self.binds < count:
            await self._changed.wait()

    async def wait_received(self, count: int) -> None:
        """Until ``count`` submit_sm have arrived since the start."""
        while self.received < count:
            if self._arrived is None:
                self._arrived = asyncio.Event()
            await self._arrived.wait()

    async def drop_all(self) -> None:
        """Cut every connection without unbinding (an operator's network failing)."""
        for session in list(self.sessions):
            await session.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None:
            writer.close()
            return
        self._connections.add(task)
        handler = _SmscHandler(self)
        session = SmppSession(
            reader, writer, handler, role=Role.SMSC, clock=self._clock, settings=self._settings
        )
        self.sessions.add(session)
        try:
            await session.serve()
        finally:
            self.sessions.discard(session)
            self._broken.discard(session)
            self._connections.discard(task)

    def _bound(self) -> None:
        self.binds += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # --- submit_sm -------------------------------------------------------------------------------

    async def on_submit(self, session: SmppSession, pdu: SubmitSm) -> SubmitSmResp | None:
        self.received += 1
        number = self.received
        self.arrivals.append(self._clock.monotonic())
        arrived_at = session.last_received
        if self._arrived is not None:
            self._arrived.set()
            self._arrived = None
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self._mishap(session, number):
                await _forever()
            return await self._answer(session, pdu, number, arrived_at)
        finally:
            self.in_flight -= 1

    def _mishap(self, session: SmppSession, number: int) -> bool:
        """Whether a scripted failure leaves this submit_sm unanswered (set going if so)."""
        b = self.behaviour
        if number <= b.silent or session in self._broken:
            return True
        if self._once("unbind", b.unbind_after, number):
            self._spawn(_quietly(session.unbind()))
            return True
        if self._once("drop", b.drop_after, number):
            self._spawn(session.close())
            return True
        if self._once("bad_length", b.bad_length_after, number):
            # command_length 4: shorter than a header, so the ESME's framer cannot go on.
            session.write_octets(bytes.fromhex("00000004") + bytes(12))
            self._broken.add(session)
            return True
        return False

    def _once(self, name: str, after: int, number: int) -> bool:
        if after and number > after and name not in self._fired:
            self._fired.add(name)
            return True
        return False

    async def _answer(
        self, session: SmppSession, pdu: SubmitSm, number: int, arrived_at: float
    ) -> SubmitSmResp | None:
        b = self.behaviour
        delay = b.latency_s + (
            self._rng.uniform(0, b.latency_jitter_s) if b.latency_jitter_s else 0
        )
        refusal = self._refusal(pdu, number)
        if delay > 0:
            # An acceptance with nothing to do before it is answered at the deadline itself, by
            # the timer's wake-up (_release_now); the rest are let go then and answered here.
            on_time = refusal is None and not (b.receipts != "none" and b.receipt_before_response)
            waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._wait_until(arrived_at + delay, _Due(session, pdu, waiter, on_time))
            answered = await waiter
            if on_time:
                if not answered:
                    await _forever()  # the answer could not reach the ESME: not accepted
                return None
        if isinstance(refusal, GenericNack):
            # The session copies the sequence number; generic_nack stands in for the response.
            return cast(SubmitSmResp, refusal)
        if refusal is not None:
            raise refusal
        if session.state not in _BOUND or session in self._broken:
            await _forever()  # the answer could not reach the ESME: the submit is not accepted
        accepted = self._record_accepted(session, pdu)
        if b.receipts != "none" and b.receipt_before_response:
            await self._deliver(accepted)
        return pdu.resp(message_id=accepted.message_id)

    def _refusal(self, pdu: SubmitSm, number: int) -> GenericNack | SmppError | None:
        """How the script refuses submit_sm number ``number``, if it does."""
        b = self.behaviour
        if b.nack_every and number % b.nack_every == 0:
            return GenericNack(pdu.sequence_number, CommandStatus.ESME_RSYSERR)
        if b.throttle_every and number % b.throttle_every == 0:
            return SmppError(b.throttle_status, "simulated throttling")
        if b.error_every and number % b.error_every == 0:
            return SmppError(b.error_status, "simulated refusal")
        return None

    def _record_accepted(self, session: SmppSession, pdu: SubmitSm) -> AcceptedSubmit:
        """Record an accepted submit_sm and set its receipt (unless it goes before the answer) and
        its reply going."""
        b = self.behaviour
        self._numbers += 1
        accepted = AcceptedSubmit(
            self._numbers, format_id(self._numbers, b.id_format), session.system_id or "", pdu
        )
        self.accepted.append(accepted)
        if b.receipts != "none":
            self._pending += 1
            self._idle.clear()
            if not b.receipt_before_response:
                self._spawn(self._deliver(accepted))
        if b.reply_text:
            self._spawn(self._reply(pdu, b.reply_text, session.system_id or ""))
        return accepted

    def _wait_until(self, due: float, waiting: _Due) -> None:
        """Let ``waiting`` go at ``due``: one timer for every submit due at the same instant (all
        those of one read, without jitter), so their answers leave in one write."""
        entries = self._due.get(due)
        if entries is not None:
            entries.append(waiting)
            return
        self._due[due] = [waiting]
        if self._timer is not None:
            self._timer.call_at(due, partial(self._release_now, due))
        else:
            self._spawn(self._release(due))

    async def _release(self, due: float) -> None:
        """Release the submits due at ``due`` (monotonic) once the clock gets there."""
        try:
            if (delay := due - self._clock.monotonic()) > 0:
                await self._clock.sleep(delay)
        except BaseException:
            self._due.pop(due)  # the simulator stopping: those submits stay unanswered
            raise
        self._release_now(due)

    def _release_now(self, due: float) -> None:
        """Answer the submits due at ``due`` that can be answered on the spot, and let the others'
        handlers go on (called from the precise timer's wake-up when there is one, so that no task
        stands between the deadline and the answers)."""
        for entry in self._due.pop(due):
            if entry.waiter.done():
                continue  # its handler was cancelled: the session closed
            if entry.on_time:
                entry.waiter.set_result(self._answer_now(entry.session, entry.pdu))
            else:
                entry.waiter.set_result(True)

    def _answer_now(self, session: SmppSession, pdu: SubmitSm) -> bool:
        """Accept and answer ``pdu`` at once; False when the answer cannot reach the ESME."""
        if session.state not in _BOUND or session in self._broken:
            return False
        message_id = format_id(self._numbers + 1, self.behaviour.id_format)
        try:
            session.answer(pdu, pdu.resp(message_id=message_id))
        except SmppSessionClosed:
            return False
        self._record_accepted(session, pdu)
        return True

    # --- incoming messages (MO) --------------------------------------------------------------------

    async def send_mo(
        self, source: str, destination: str, text: str, *, system_id: str | None = None
    ) -> list[int]:
        """Deliver an SMS from ``source`` to ``destination`` to a bound receiver (one of
        ``system_id`` preferred), part by part, waiting while none is bound and retrying a part the
        ESME asks to retry; the final command_status of each part."""
        self._pending += 1
        self._idle.clear()
        try:
            self._mo_refs += 1
            statuses = [
                await self._deliver_request(part, system_id or "")
                for part in mo_pdus(source, destination, text, self._mo_refs)
            ]
            if all(status == CommandStatus.ESME_ROK for status in statuses):
                self.mo_acknowledged.append(text)
            return statuses
        finally:
            self._pending -= 1
            if not self._pending:
                self._idle.set()

    async def _reply(self, pdu: SubmitSm, text: str, system_id: str) -> None:
        await self.send_mo(pdu.destination_addr, pdu.source_addr, text, system_id=system_id)

    async def _deliver_request(self, request: DeliverSm | DataSm, system_id: str) -> int:
        """Send one deliver_sm/data_sm until a receiver answers it with a final status."""
        while True:
            session = self._receiver(system_id)
            if session is None:
                await self._changed.wait()
                continue
            try:
                if isinstance(request, DataSm):
                    status = (await session.data_sm(request)).command_status
                else:
                    status = (await session.deliver_sm(request)).command_status
            except (SmppError, ConnectionError):
                continue  # that session is gone: another, or the next bind
            if status not in _RETRY_STATUSES:
                return status
            await self._clock.sleep(self.behaviour.receipt_retry_s)

    # --- receipts ----------------------------------------------------------------------------------

    async def _deliver(self, accepted: AcceptedSubmit) -> None:
        b = self.behaviour
        try:
            if b.receipt_delay_s > 0:
                await self._clock.sleep(b.receipt_delay_s)
            status = await self._deliver_request(self._receipt(accepted), accepted.system_id)
            if status == CommandStatus.ESME_ROK:
                self.receipts_acknowledged.append(accepted.message_id)
            else:
                self.receipts_refused.append((accepted.message_id, status))
        finally:
            self._pending -= 1
            if not self._pending:
                self._idle.set()

    def _receiver(self, system_id: str) -> SmppSession | None:
        receivers = [s for s in self.sessions if s.state in _RECEIVERS]
        same = [s for s in receivers if s.system_id == system_id]
        choices = same or receivers
        return choices[self._rng.randrange(len(choices))] if choices else None

    def _receipt(self, accepted: AcceptedSubmit) -> DeliverSm | DataSm:
        b = self.behaviour
        delivered = random.Random(f"{b.seed}:{accepted.number}").random() < b.delivery_ratio
        receipt_id = format_id(accepted.number, b.receipt_id_format)
        now = utc_datetime(self._clock.now())
        text = format_receipt(
            DeliveryReceipt(
                message_id=receipt_id,
                stat="DELIVRD" if delivered else "UNDELIV",
                err=0 if delivered else 1,
                dlvrd=1 if delivered else 0,
                submit_date=now,
                done_date=now,
            )
        ).encode("latin-1")
        state = MessageState.DELIVERED if delivered else MessageState.UNDELIVERABLE
        pdu = accepted.pdu
        if b.receipts == "data_sm":
            return DataSm(
                source_addr=pdu.destination_addr,
                destination_addr=pdu.source_addr,
                esm_class=EsmClass.DELIVERY_RECEIPT,
                tlvs=Tlvs(
                    receipted_message_id=receipt_id, message_state=state, message_payload=text
                ),
            )
        return DeliverSm(
            source_addr=pdu.destination_addr,
            destination_addr=pdu.source_addr,
            esm_class=EsmClass.DELIVERY_RECEIPT,
            short_message=text,
            tlvs=Tlvs(receipted_message_id=receipt_id, message_state=state),
        )


class _SmscHandler(BaseHandler):
    def __init__(self, smsc: SmscSimulator) -> None:
        self._smsc = smsc

    async def handle_bind(self, session: SmppSession, pdu: Bind) -> BindResp:
        allowed = self._smsc.behaviour.credentials
        if allowed and (pdu.system_id, pdu.password) not in allowed:
            raise SmppError(CommandStatus.ESME_RINVPASWD, "unknown system_id or password")
        # The session is bound once this returns; those waiting for a receiver look after that.
        asyncio.get_running_loop().call_soon(self._smsc._bound)
        return pdu.resp(system_id=self._smsc.system_id)

    async def handle_submit_sm(self, session: SmppSession, pdu: SubmitSm) -> SubmitSmResp | None:
        return await self._smsc.on_submit(session, pdu)


async def _forever() -> None:
    """Never answer: the handler is cancelled when its session closes."""
    await asyncio.get_running_loop().create_future()


async def _quietly(awaitable: Awaitable[None]) -> None:
    with contextlib.suppress(SmppError, ConnectionError):
        await awaitable
