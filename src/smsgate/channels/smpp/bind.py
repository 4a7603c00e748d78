"""One bind of an upstream connector: connect, bind, keep it bound, send submit_sm under its pacing.

A bind runs a supervisor task while its connector owns it. The supervisor connects (TLS if asked),
binds as transceiver, transmitter or receiver and then waits for the session to end; after any end —
the SMSC unbinds or drops the connection, enquire_link goes unanswered, a response times out — it
waits a jittered exponential delay (:func:`reconnect_delay`) and binds again. Nothing that was in
flight is resent here: the sender of each submit_sm learns that it went unanswered and decides.

Sending goes through a :class:`Pacer` per bind (window and TPS, ``dispatch/pacing.py``'s contract;
``ESME_RTHROTTLED`` pauses it). A response that does not come within ``response_timeout_s`` makes the
link suspect: the session is closed and bound again, so a hung SMSC does not hold the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

from smsgate.channels.smpp.settings import BindMode, BindSettings
from smsgate.clock import Clock
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import (
    SmppDecodeError,
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
    SubmitSm,
    SubmitSmResp,
)
from smsgate.protocols.smpp.session import SessionSettings, SmppSession
from smsgate.protocols.smpp.states import BindState, Role

log = logging.getLogger(__name__)
T = TypeVar("T")

# Answers an SMSC request (deliver_sm / data_sm); raises SmppError to answer with its status.
PduReceiver = Callable[[DeliverSm | DataSm], Awaitable[None]]


class SendPacer(Protocol):
    """Window and rate of one bind (``dispatch/pacing.py``'s :class:`Pacer` is the one used; it is
    passed in because channels sit below dispatch)."""

    def send_slot(self) -> AbstractAsyncContextManager[None]: ...

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


async def within(clock: Clock, seconds: float, awaitable: Awaitable[T]) -> T:
    """``awaitable``'s result, or TimeoutError after ``seconds`` of ``clock`` (it is cancelled)."""
    work = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait((work, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not work.done():
            work.cancel()
        await asyncio.gather(work, timer, return_exceptions=True)
    if work.cancelled():
        raise TimeoutError(f"no answer within {seconds} s")
    return work.result()


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
        self.queued = 0  # parts waiting for a window slot or a token
        self.session: SmppSession | None = None
        self.in_flight = 0
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
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self.session = self.session, None
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
        self.queued += 1
        entered = False
        try:
            async with self.pacer.send_slot():
                self.queued -= 1
                entered = True
                return await self._send(pdu)
        finally:
            if not entered:
                self.queued -= 1

    async def _send(self, pdu: SubmitSm) -> SubmitSmResp | None:
        session = self.session
        if session is None or session.state not in _BOUND:
            return None
        self.in_flight += 1
        try:
            response = await session.submit_sm(pdu)
        except SmppResponseTimeout:
            log.warning("%s: submit_sm unanswered; rebinding", self.label)
            await session.close()
            return None
        except (SmppSessionClosed, ConnectionError):
            await session.close()  # down until the supervisor binds again, not retried on it
            return None
        except SmppDecodeError:
            return None
        except SmppError as exc:  # generic_nack
            return SubmitSmResp(pdu.sequence_number, exc.status)
        finally:
            self.in_flight -= 1
        if response.command_status == CommandStatus.ESME_ROK:
            self.pacer.ok()
        return response

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
