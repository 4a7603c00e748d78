"""One bind of an upstream connector: connect, bind, keep it bound, send submit_sm under its pacing.

A bind runs a supervisor task while its connector owns it. The supervisor connects (TLS if asked),
binds as transceiver, transmitter or receiver and then waits for the session to end; after any end —
the SMSC unbinds or drops the connection, enquire_link goes unanswered, a response times out — it
waits a jittered exponential delay (:func:`reconnect_delay`) and binds again. Nothing that was in
flight is resent here: the sender of each submit_sm learns that it went unanswered and decides.

Sending: submit_sm wait in the bind's queue (FIFO) and go out while fewer than ``window`` are in
flight and the bind's token bucket (its TPS, paused by ``ESME_RTHROTTLED``; ``dispatch/pacing.py``)
gives a token. Each response frees its slot synchronously, in the session's read
(:meth:`SmppSession.send_request`), and the next waiting submit_sm goes out in that same write: the
window refills one loop pass after the answers arrive instead of after a task per message has woken,
which is what a bind's rate of window ÷ RTT asks of it when the RTT is a millisecond. A response
that does not come within ``response_timeout_s`` makes the link suspect: the session is closed and
bound again, so a hung SMSC does not hold the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from smsgate.channels.smpp.settings import BindMode, BindSettings
from smsgate.clock import Clock, within
from smsgate.protocols.smpp.codec import encode_pdu
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import (
    SmppDecodeError,
    SmppEncodeError,
    SmppError,
    SmppResponseTimeout,
    SmppSessionClosed,
)
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.pdu import (
    Bind,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    GenericNack,
    Response,
    SubmitSm,
    SubmitSmResp,
)
from smsgate.protocols.smpp.session import SessionSettings, SmppSession
from smsgate.protocols.smpp.states import BindState, Role

log = logging.getLogger(__name__)

# Answers an SMSC request (deliver_sm / data_sm); raises SmppError to answer with its status.
PduReceiver = Callable[[DeliverSm | DataSm], Awaitable[None]]


class TokenSource(Protocol):
    """A bind's rate (``dispatch/pacing.py``'s :class:`TokenBucket`)."""

    def try_acquire(self, n: int = 1) -> bool: ...

    def delay_for(self, n: int) -> float: ...


class SendPacer(Protocol):
    """Rate and throttle backoff of one bind (``dispatch/pacing.py``'s :class:`Pacer` is the one
    used; it is passed in because channels sit below dispatch). The bind keeps its own window."""

    @property
    def bucket(self) -> TokenSource: ...

    def throttled(self, backoff_s: float) -> float: ...

    def ok(self) -> None: ...


PacerFactory = Callable[[BindSettings], SendPacer]

# BindState.is_bound builds its tuple of members on every call; this is a set made once.
_BOUND = frozenset({BindState.BOUND_TX, BindState.BOUND_RX, BindState.BOUND_TRX})

_BIND_PDU: dict[BindMode, type[Bind]] = {
    BindMode.TRANSCEIVER: BindTransceiver,
    BindMode.TRANSMITTER: BindTransmitter,
    BindMode.RECEIVER: BindReceiver,
}


def reconnect_delay(failures: int, min_s: float, max_s: float, rng: random.Random) -> float:
    """Seconds before the next bind attempt after ``failures`` failed ones in a row: exponential from
    ``min_s`` up to ``max_s``, with equal jitter (half fixed, half random) so that the binds of many
    nodes do not reconnect in step."""
    ceiling = min(max_s, min_s * 2.0 ** min(failures, 32))
    return rng.uniform(ceiling / 2, ceiling)


class _EsmeHandler(BaseHandler):
    """What the SMSC may ask of us: deliver_sm and data_sm (receipts), answered after ``receive``."""

    def __init__(self, receive: PduReceiver) -> None:
        self._receive = receive

    async def handle_deliver_sm(self, session: SmppSession, pdu: DeliverSm) -> DeliverSmResp:
        await self._receive(pdu)
        return pdu.resp()

    async def handle_data_sm(self, session: SmppSession, pdu: DataSm) -> DataSmResp:
        await self._receive(pdu)
        return pdu.resp(message_id="")


class UpstreamBind:
    """One bind (module docstring); :meth:`start` and :meth:`stop` are the connector's to call."""

    def __init__(
        self,
        settings: BindSettings,
        clock: Clock,
        receive: PduReceiver,
        *,
        pacer: SendPacer,
        label: str,
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self.label = label
        self.pacer = pacer
        self._waiting: deque[tuple[SubmitSm, bytes, asyncio.Future[SubmitSmResp | None]]] = deque()
        self._waker: asyncio.Task[None] | None = None  # pumps again once a token has accrued
        self._closing: dict[SmppSession, asyncio.Task[None]] = {}
        self.session: SmppSession | None = None
        self.in_flight = 0  # parts sent and not yet answered
        self.binds = 0  # successful binds so far
        self._clock = clock
        self._receive = receive
        self._rng = rng
        self._changed = asyncio.Event()  # set and replaced when the bind comes up or goes down
        self._task: asyncio.Task[None] | None = None
        self._ssl = _ssl_context(settings) if settings.tls else None
        self._session_settings = SessionSettings(
            window=settings.window,
            response_timeout_s=settings.response_timeout_s,
            enquire_link_interval_s=settings.enquire_link_s,
            idle_timeout_s=0,  # an ESME keeps the link with enquire_link; idle unbind is the SMSC's
        )

    @property
    def up(self) -> bool:
        session = self.session
        return session is not None and session.state in _BOUND

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def load(self) -> float:
        """How full the bind is: parts in flight or queued per window slot."""
        return (self.in_flight + self.queued) / self.settings.window

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name=f"smpp-bind-{self.label}")

    async def stop(self) -> None:
        """Stop reconnecting, unbind (bounded by the session's unbind timeout) and close."""
        task, self._task = self._task, None
        waker, self._waker = self._waker, None
        for running in (task, waker):
            if running is not None:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        session, self.session = self.session, None
        self._fail_waiting()
        self._signal()
        if session is not None:
            if session.state.is_bound:
                with contextlib.suppress(SmppError, ConnectionError):
                    await session.unbind()
            await session.close()

    async def wait_up(self) -> None:
        """Until the bind is bound (at once when it is)."""
        while not self.up:
            await self._changed.wait()

    def _signal(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def send(self, pdu: SubmitSm) -> SubmitSmResp | None:
        """Send ``pdu`` within the bind's window and rate; its response, or None when it went
        unanswered (bind down, connection lost, timed out, unreadable answer). A generic_nack comes
        back as a response carrying its status."""
        if not self.up:
            return None
        try:
            encoded = encode_pdu(pdu)  # now, not when a slot frees: the window refills sooner
        except SmppEncodeError as exc:
            return SubmitSmResp(pdu.sequence_number, exc.status)
        answer: asyncio.Future[SubmitSmResp | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((pdu, encoded, answer))
        self._pump()
        return await answer

    @property
    def queued(self) -> int:
        """Parts waiting for a window slot or a token."""
        return len(self._waiting)

    def _pump(self) -> None:
        """Send what waits while the window has room and tokens are there. Called on every send
        and from every answer, so a slot freed by a response is filled in the same pass of the
        loop as the read that brought it (no task has to wake up first)."""
        waiting = self._waiting
        session = self.session
        if session is None or session.state not in _BOUND:
            self._fail_waiting()
            return
        while waiting and self.in_flight < self.settings.window:
            pdu, encoded, answer = waiting[0]
            if answer.done():  # its sender was cancelled while it waited
                waiting.popleft()
                continue
            if not self.pacer.bucket.try_acquire():
                self._wake_for_token()
                return
            waiting.popleft()
            try:
                session.send_request(pdu, partial(self._answered, session, pdu, answer), encoded)
            except (SmppSessionClosed, ConnectionError):
                answer.set_result(None)
                self._close(session)
                self._fail_waiting()
                return
            except SmppError as exc:  # not allowed in the session's state
                answer.set_result(SubmitSmResp(pdu.sequence_number, exc.status))
                continue
            self.in_flight += 1

    def _answered(
        self,
        session: SmppSession,
        pdu: SubmitSm,
        answer: asyncio.Future[SubmitSmResp | None],
        outcome: Response | SmppError,
    ) -> None:
        self.in_flight -= 1
        response: SubmitSmResp | None
        if isinstance(outcome, SubmitSmResp):
            response = outcome
            if response.command_status == CommandStatus.ESME_ROK:
                self.pacer.ok()
        elif isinstance(outcome, SmppResponseTimeout):
            log.warning("%s: submit_sm unanswered; rebinding", self.label)
            self._close(session)
            response = None
        elif isinstance(outcome, SmppSessionClosed):
            self._close(session)  # down until the supervisor binds again, not retried on it
            response = None
        elif isinstance(outcome, SmppDecodeError):
            response = None
        elif isinstance(outcome, SmppError):
            response = SubmitSmResp(pdu.sequence_number, outcome.status)
        elif isinstance(outcome, GenericNack):
            response = SubmitSmResp(pdu.sequence_number, outcome.command_status)
        else:
            response = SubmitSmResp(pdu.sequence_number, CommandStatus.ESME_RINVCMDID)
        if not answer.done():
            answer.set_result(response)
        self._pump()

    def _wake_for_token(self) -> None:
        if self._waker is None or self._waker.done():
            delay = self.pacer.bucket.delay_for(1)
            self._waker = asyncio.create_task(self._pump_after(delay), name=f"{self.label}-rate")

    async def _pump_after(self, delay: float) -> None:
        # A microsecond short, as the bucket counts a token that is due within one as there:
        # float rounding must not cost a whole extra wait.
        await self._clock.sleep(max(0.0, delay - 1e-6))
        self._waker = None
        self._pump()

    def _fail_waiting(self) -> None:
        """The bind is down: what waits goes back unanswered (its senders decide what next)."""
        while self._waiting:
            *_, answer = self._waiting.popleft()
            if not answer.done():
                answer.set_result(None)

    def _close(self, session: SmppSession) -> None:
        if not session.closed and session not in self._closing:
            task = asyncio.ensure_future(session.close())
            self._closing[session] = task
            task.add_done_callback(lambda _: self._closing.pop(session, None))

    def throttled(self) -> float:
        """The SMSC said slow down: pause this bind; the seconds until it sends again."""
        return self.pacer.throttled(self.settings.throttle_backoff_s)

    async def _supervise(self) -> None:
        failures = 0
        settings = self.settings
        while True:
            try:
                session = await self._open()
            except (OSError, SmppError, TimeoutError) as exc:
                delay = reconnect_delay(
                    failures, settings.reconnect_min_s, settings.reconnect_max_s, self._rng
                )
                failures += 1
                log.warning("%s: bind failed (%s); retrying in %.1f s", self.label, exc, delay)
                await self._clock.sleep(delay)
                continue
            failures = 0
            self.session = session
            self.binds += 1
            self._signal()
            log.info("%s: bound to %s:%d", self.label, settings.host, settings.port)
            try:
                await session.wait_closed()
            finally:
                self.session = None
                self._fail_waiting()
                self._signal()
            delay = reconnect_delay(
                0, settings.reconnect_min_s, settings.reconnect_max_s, self._rng
            )
            log.warning("%s: session ended; binding again in %.1f s", self.label, delay)
            await self._clock.sleep(delay)

    async def _open(self) -> SmppSession:
        settings = self.settings
        reader, writer = await within(
            self._clock,
            settings.connect_timeout_s,
            asyncio.open_connection(settings.host, settings.port, ssl=self._ssl),
        )
        session = SmppSession(
            reader,
            writer,
            _EsmeHandler(self._receive),
            role=Role.ESME,
            clock=self._clock,
            settings=self._session_settings,
        )
        session.start()
        pdu = _BIND_PDU[settings.mode](
            system_id=settings.system_id,
            password=settings.password,
            system_type=settings.system_type,
        )
        try:
            await session.bind(pdu)
        except BaseException:
            await session.close()
            raise
        return session


def _ssl_context(settings: BindSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.tls_ca or None)
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
