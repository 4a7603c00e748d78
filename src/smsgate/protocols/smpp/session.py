"""One SMPP connection over asyncio streams: framing, bind state, window, keep-alive, unbind.

The pure parts live elsewhere (``codec.py``, ``framer.py``, ``states.py``, ``window.py``); this module
is the adapter that owns the reader, the writer and the timers. Guarantees:

* Incoming requests are checked against the bind state (``ESME_RINVBNDSTS``/``ESME_RALYBND``), then
  handed to the :class:`SmppHandler` concurrently, at most ``inbound_window`` at a time; beyond that the
  request is answered ``ESME_RMSGQFUL`` at once (protocols.md §3.3), so nothing queues without bound.
  Responses are written with ``drain()``, so a peer that stops reading stops being read.
* PDUs go out in the order they are sent; those sent in one pass of the event loop leave in one
  write (one system call and one wake-up of the peer for a window's worth, not one per PDU).
  :meth:`close` writes what is still pending before closing the socket.
* Malformed PDUs are answered, never fatal: the request's ``*_resp`` with the decoder's status, or
  ``generic_nack`` (unknown command id ``ESME_RINVCMDID``); a ``command_length`` out of bounds gets
  ``generic_nack`` ``ESME_RINVCMDLEN`` and closes the connection, as the stream is out of sync.
* Outgoing requests get sequence numbers 1…0x7FFFFFFF (wrapping), at most ``window`` in flight, each
  answered within ``response_timeout_s`` or failed with :class:`SmppResponseTimeout`.
* ``enquire_link`` is answered in every state; when nothing has arrived for ``enquire_link_interval_s``
  the session sends one, and closes if it goes unanswered. When nothing has arrived for
  ``idle_timeout_s`` (120 s) it unbinds and closes after ``unbind_resp`` or ``unbind_timeout_s``.
* All timing comes from the injected :class:`Clock`; a test advances a manual clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

from smsgate.clock import Clock, within
from smsgate.protocols.smpp.codec import decode_pdu, encode_pdu, with_sequence_number
from smsgate.protocols.smpp.constants import CommandId, CommandStatus
from smsgate.protocols.smpp.errors import (
    SmppDecodeError,
    SmppEncodeError,
    SmppError,
    SmppFramingError,
    SmppResponseTimeout,
    SmppSessionClosed,
)
from smsgate.protocols.smpp.framer import DEFAULT_MAX_COMMAND_LENGTH, PduFramer
from smsgate.protocols.smpp.handler import SmppHandler
from smsgate.protocols.smpp.pdu import (
    PDU_CLASS_BY_ID,
    AlertNotification,
    Bind,
    BindResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    Request,
    Response,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    error_response,
)
from smsgate.protocols.smpp.states import STATE_AFTER_BIND, BindState, Role, check_outgoing
from smsgate.protocols.smpp.states import check_request as check_incoming
from smsgate.protocols.smpp.window import InFlight, SequenceNumbers

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Response)
AnswerCallback = Callable[[Response | SmppError], None]  # a response, or what ended the wait
_READ_SIZE = 65_536


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Per-session limits and timers (seconds; 0 turns a timer off)."""

    window: int = 10  # our requests awaiting a response (field-notes: operators grant ~10)
    inbound_window: int = 100  # peer requests being handled at once (protocols.md §3.3)
    response_timeout_s: float = 30.0
    enquire_link_interval_s: float = 30.0
    idle_timeout_s: float = 120.0
    unbind_timeout_s: float = 5.0
    max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH
    tick_s: float = 1.0  # how often timers are checked


@dataclass(slots=True)
class _Outgoing:
    request: Request  # as the caller passed it; ``sequence_number`` is the one it went out with
    sequence_number: int
    on_answer: AnswerCallback | None  # None once called

    def settle(self, outcome: Response | SmppError) -> None:
        """Hand over the response, or the error that ended the wait, exactly once."""
        on_answer, self.on_answer = self.on_answer, None
        if on_answer is not None:
            try:
                on_answer(outcome)
            except Exception:  # the reading goes on whatever a caller's callback does
                log.exception("smpp answer callback failed, seq=%d", self.sequence_number)


def _resolve(future: asyncio.Future[Response], outcome: Response | SmppError) -> None:
    if future.done():
        return
    if isinstance(outcome, SmppError):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class SmppSession:
    """One connection, either end (``role``). Run it with :meth:`serve` or ``async with``."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: SmppHandler,
        *,
        role: Role,
        clock: Clock,
        settings: SessionSettings | None = None,
    ) -> None:
        self.role = role
        self.settings = settings or SessionSettings()
        self.state = BindState.OPEN
        self.system_id: str | None = None  # the peer's system_id once bound
        self.peer: object = writer.get_extra_info("peername")
        self._reader, self._writer, self._handler, self._clock = reader, writer, handler, clock
        self._framer = PduFramer(self.settings.max_command_length)
        self._sequence = SequenceNumbers()
        self._outgoing: InFlight[_Outgoing] = InFlight()
        self._window = asyncio.Semaphore(self.settings.window)
        self._inbound = 0
        self._binding = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._handling: set[asyncio.Task[None]] = set()  # handler calls; unbind waits for them
        self._serving: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._last_received = clock.monotonic()
        self._pending: list[bytes] = []  # encoded PDUs waiting for this loop pass's write

    # --- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> SmppSession:
        if self._serving is None:
            self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.state.is_bound:
            with contextlib.suppress(SmppError, ConnectionError):
                await self.unbind()
        await self.close()

    def start(self) -> None:
        """Serve in a background task owned by the session (for clients)."""
        if self._serving is not None or self._closed.is_set():
            raise RuntimeError("session already started or closed")
        self._serving = asyncio.create_task(self.serve(), name=f"smpp-session-{self.peer}")

    async def serve(self) -> None:
        """Read and answer until the connection ends; always closes the session on the way out."""
        self._spawn(self._tick_loop())
        try:
            await self._read_loop()
        except (ConnectionError, SmppSessionClosed):
            pass
        except SmppFramingError as exc:
            log.warning("smpp framing error from %s: %s", self.peer, exc)
            with contextlib.suppress(ConnectionError):
                await self._send(GenericNack(exc.sequence_number, exc.status))
        finally:
            await self.close()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def close(self) -> None:
        """Fail what is in flight, cancel the session's tasks, close the socket. Idempotent."""
        if self.state is BindState.CLOSED:
            return  # a second caller (often one of the tasks being cancelled) must not wait here
        self.state = BindState.CLOSED
        for outgoing in self._outgoing.clear():
            outgoing.settle(SmppSessionClosed(CommandStatus.ESME_RUNKNOWNERR, "session closed"))
        current = asyncio.current_task()
        tasks = [t for t in (*self._tasks, self._serving) if t is not None and t is not current]
        for task in tasks:
            task.cancel()
        self._flush()
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            self._handler.session_closed(self)
        finally:
            self._closed.set()

    # --- requests we send ------------------------------------------------------------------------

    async def bind(self, pdu: Bind) -> BindResp:
        """Bind as an ESME; on status 0 the session is bound, otherwise ``SmppError(status)``."""
        if self.state is not BindState.OPEN or self._binding:
            raise SmppError(CommandStatus.ESME_RALYBND, "bind on a bound session")
        self._binding = True
        try:
            response = await self.request(pdu, BindResp)
        finally:
            self._binding = False
        if response.command_status != CommandStatus.ESME_ROK:
            raise SmppError(response.command_status, "bind refused")
        self.state = STATE_AFTER_BIND[pdu.command_id]
        return response

    async def submit_sm(self, pdu: SubmitSm) -> SubmitSmResp:
        return await self.request(pdu, SubmitSmResp)

    async def submit_multi(self, pdu: SubmitMulti) -> SubmitMultiResp:
        return await self.request(pdu, SubmitMultiResp)

    async def deliver_sm(self, pdu: DeliverSm) -> DeliverSmResp:
        return await self.request(pdu, DeliverSmResp)

    async def data_sm(self, pdu: DataSm) -> DataSmResp:
        return await self.request(pdu, DataSmResp)

    async def query_sm(self, pdu: QuerySm) -> QuerySmResp:
        return await self.request(pdu, QuerySmResp)

    async def cancel_sm(self, pdu: CancelSm) -> CancelSmResp:
        return await self.request(pdu, CancelSmResp)

    async def replace_sm(self, pdu: ReplaceSm) -> ReplaceSmResp:
        return await self.request(pdu, ReplaceSmResp)

    async def enquire_link(self) -> EnquireLinkResp:
        return await self.request(EnquireLink(), EnquireLinkResp)

    async def unbind(self) -> None:
        """Send unbind, wait for unbind_resp (at most ``unbind_timeout_s``), then close."""
        if self.state is BindState.CLOSED:
            return
        self.state = BindState.UNBINDING
        try:
            await self.request(Unbind(), UnbindResp, timeout_s=self.settings.unbind_timeout_s)
        except SmppResponseTimeout:
            log.info("smpp session %s: no unbind_resp, closing anyway", self.peer)
        finally:
            await self.close()

    async def notify(self, pdu: AlertNotification | Outbind) -> None:
        """Send a request that has no response (alert_notification, outbind)."""
        self._check_outgoing(pdu)
        await self._send(pdu, self._sequence.next(self._outgoing))

    async def request(self, pdu: Request, expected: type[R], timeout_s: float | None = None) -> R:
        """Send ``pdu`` with a fresh sequence number and return its response.

        Waits for a window slot first. The response's own status is the caller's to read, except
        ``generic_nack``, raised as ``SmppError(status)``. ``SmppResponseTimeout`` after the timeout,
        ``SmppSessionClosed`` when the session ends first.
        """
        self._check_outgoing(pdu)
        async with self._window:
            future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            sequence_number = self.send_request(pdu, partial(_resolve, future), timeout_s=timeout_s)
            try:
                await self._writer.drain()
                response = await future
            finally:
                self._outgoing.pop(sequence_number)
        if isinstance(response, GenericNack):
            raise SmppError(
                response.command_status, "generic_nack", sequence_number=sequence_number
            )
        if not isinstance(response, expected):
            raise SmppError(CommandStatus.ESME_RINVCMDID, f"{type(response).__name__} in reply")
        return response

    def send_request(
        self,
        pdu: Request,
        on_answer: AnswerCallback,
        encoded: bytes | None = None,
        *,
        timeout_s: float | None = None,
    ) -> int:
        """Send ``pdu`` now (its sequence number is returned); ``on_answer`` is called once, from
        the read that brings the response (``generic_nack`` too), or with the :class:`SmppError`
        that ended the wait. No window slot or drain is waited for: a caller with its own window
        (an upstream bind) sends the next request from the callback, in the same pass of the loop.
        ``encoded`` is ``pdu`` encoded beforehand (any sequence number)."""
        self._check_outgoing(pdu)
        if self.closed:
            raise SmppSessionClosed(CommandStatus.ESME_RUNKNOWNERR, "session closed")
        sequence_number = self._sequence.next(self._outgoing)
        if encoded is None:
            self._queue(pdu, sequence_number)
        elif self._writer.is_closing():
            raise SmppSessionClosed(CommandStatus.ESME_RUNKNOWNERR, "connection closing")
        else:
            self.write_octets(with_sequence_number(encoded, sequence_number))
        timeout = self.settings.response_timeout_s if timeout_s is None else timeout_s
        outgoing = _Outgoing(pdu, sequence_number, on_answer)
        self._outgoing.add(sequence_number, outgoing, self._clock.monotonic() + timeout)
        return sequence_number

    def answer(self, request: Request, response: Response) -> None:
        """Answer ``request`` now, from outside its handler (which then returns None): for one that
        times its answer itself, as the SMSC simulator does. SmppSessionClosed when closing."""
        if response.sequence_number != request.sequence_number:
            response = replace(response, sequence_number=request.sequence_number)
        self._queue(response)

    def _check_outgoing(self, pdu: Request) -> None:
        if self.state is BindState.CLOSED:
            raise SmppSessionClosed(CommandStatus.ESME_RUNKNOWNERR, "session closed")
        refusal = check_outgoing(self.role, self.state, pdu.command_id)
        if refusal is not None:
            raise SmppError(refusal, f"{type(pdu).__name__} in state {self.state.value}")

    @property
    def last_received(self) -> float:
        """``clock.monotonic()`` when octets last arrived: the arrival time of the PDUs being handled
        (every PDU of one read shares it; a handler runs before the next read is taken apart)."""
        return self._last_received

    # --- reading ---------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while not self.closed:
            data = await self._reader.read(_READ_SIZE)
            if not data:
                return
            self._last_received = self._clock.monotonic()
            self._framer.feed(data)
            while (frame := self._framer.next_frame()) is not None:
                self._on_frame(frame)
            # What the frames answered or set going at once (enquire_link_resp, refusals, requests
            # sent by answer callbacks) leaves now, in one write, before the tasks they woke run;
            # a peer that does not read it is not read either.
            self._flush()
            await self._writer.drain()

    def _on_frame(self, frame: bytes) -> None:
        try:
            pdu = decode_pdu(frame)
        except SmppDecodeError as exc:
            self._on_decode_error(exc)
            return
        if isinstance(pdu, Response):
            self._on_response(pdu)
        elif isinstance(pdu, Request):
            self._on_request(pdu)

    def _on_decode_error(self, exc: SmppDecodeError) -> None:
        log.warning("smpp malformed pdu from %s: %s", self.peer, exc)
        if exc.command_id & 0x80000000:
            outgoing = self._outgoing.pop(exc.sequence_number)
            if outgoing is not None:
                outgoing.settle(exc)
            return
        cls = PDU_CLASS_BY_ID.get(exc.command_id)
        if cls is not None and issubclass(cls, Request):
            self._queue(error_response(cls(exc.sequence_number), exc.status))
        else:
            self._queue(GenericNack(exc.sequence_number, exc.status))

    def _on_response(self, pdu: Response) -> None:
        outgoing = self._outgoing.pop(pdu.sequence_number)
        if outgoing is None:
            log.info(
                "smpp response to no request: %s seq=%d", type(pdu).__name__, pdu.sequence_number
            )
        else:
            outgoing.settle(pdu)

    def _on_request(self, pdu: Request) -> None:
        command_id = pdu.command_id
        if command_id == CommandId.ENQUIRE_LINK:
            self._queue(EnquireLinkResp(pdu.sequence_number))
            return
        refusal = check_incoming(self.role, self.state, command_id)
        if refusal is None and isinstance(pdu, Bind) and self._binding:
            refusal = CommandStatus.ESME_RALYBND
        if refusal is not None:
            self._queue(error_response(pdu, refusal))
        elif isinstance(pdu, Unbind):
            self._spawn(self._on_unbind(pdu))
        elif self._inbound >= self.settings.inbound_window:
            self._queue(error_response(pdu, CommandStatus.ESME_RMSGQFUL))
        else:
            self._inbound += 1
            self._binding = self._binding or isinstance(pdu, Bind)
            self._handling.add(self._spawn(self._handle(pdu)))

    async def _handle(self, pdu: Request) -> None:
        try:
            response = await self._dispatch(pdu)
        except SmppError as exc:
            response = error_response(pdu, exc.status)
        except Exception:
            log.exception(
                "smpp handler failed on %s seq=%d", type(pdu).__name__, pdu.sequence_number
            )
            response = error_response(pdu, CommandStatus.ESME_RSYSERR)
        finally:
            self._inbound -= 1
        if response is None:
            return
        if response.sequence_number != pdu.sequence_number:
            response = replace(response, sequence_number=pdu.sequence_number)
        if isinstance(pdu, Bind):
            await self._finish_bind(pdu, response)
        else:
            await self._send_response(pdu, response)

    async def _finish_bind(self, pdu: Bind, response: Response) -> None:
        self._binding = False
        if response.command_status == CommandStatus.ESME_ROK:
            self.state = STATE_AFTER_BIND[pdu.command_id]
            self.system_id = pdu.system_id
            await self._send_response(pdu, response)
            return
        # A refused bind is answered and the connection closed (protocols.md §3.2).
        await self._send_response(pdu, response)
        await self.close()

    async def _send_response(self, pdu: Request, response: Response) -> None:
        try:
            await self._send(response)
        except SmppEncodeError:
            log.exception("smpp handler response to seq=%d cannot be encoded", pdu.sequence_number)
            await self._send(error_response(pdu, CommandStatus.ESME_RSYSERR))

    async def _dispatch(self, pdu: Request) -> Response | None:
        handler = self._handler
        match pdu:
            case SubmitSm():
                return await handler.handle_submit_sm(self, pdu)
            case DeliverSm():
                return await handler.handle_deliver_sm(self, pdu)
            case DataSm():
                return await handler.handle_data_sm(self, pdu)
            case Bind():
                return await handler.handle_bind(self, pdu)
            case QuerySm():
                return await handler.handle_query_sm(self, pdu)
            case CancelSm():
                return await handler.handle_cancel_sm(self, pdu)
            case ReplaceSm():
                return await handler.handle_replace_sm(self, pdu)
            case SubmitMulti():
                return await handler.handle_submit_multi(self, pdu)
            case AlertNotification():
                await handler.handle_alert_notification(self, pdu)
            case Outbind():
                await handler.handle_outbind(self, pdu)
        return None

    async def _on_unbind(self, pdu: Unbind) -> None:
        self.state = BindState.UNBINDING
        try:
            await self._handler.handle_unbind(self, pdu)
        except Exception:
            log.exception("smpp unbind handler failed")
        # Answer what is still being handled before unbind_resp, within the unbind timeout.
        pending = list(self._handling)
        if pending:
            with contextlib.suppress(TimeoutError):
                await within(self._clock, self.settings.unbind_timeout_s, asyncio.wait(pending))
        with contextlib.suppress(ConnectionError):
            await self._send(UnbindResp(pdu.sequence_number))
        await self.close()

    # --- writing and timers ----------------------------------------------------------------------

    async def _send(self, pdu: Pdu, sequence_number: int | None = None) -> None:
        """Queue ``pdu`` (:meth:`_queue`), then wait while the peer is not reading (the transport
        is paused)."""
        self._queue(pdu, sequence_number)
        await self._writer.drain()

    def _queue(self, pdu: Pdu, sequence_number: int | None = None) -> None:
        """Encode ``pdu`` (with ``sequence_number`` in its header when given) and queue it for this
        loop pass's write."""
        data = encode_pdu(pdu, sequence_number)
        if self._writer.is_closing():
            raise SmppSessionClosed(CommandStatus.ESME_RUNKNOWNERR, "connection closing")
        self.write_octets(data)

    def write_octets(self, data: bytes) -> None:
        """Queue ``data`` behind the PDUs already sent; what is queued in one pass of the event loop
        is written at once, at the start of the next. Raw octets are for simulators that must write
        what the codec refuses to encode (a corrupt PDU); everything else goes through the codec."""
        pending = self._pending
        pending.append(data)
        if len(pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        if not self._writer.is_closing():
            self._writer.write(data)

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._handling.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None and not isinstance(exc, (ConnectionError, SmppSessionClosed)):
            log.error("smpp session task failed", exc_info=exc)

    async def _tick_loop(self) -> None:
        while not self.closed:
            await self._clock.sleep(self.settings.tick_s)
            self.tick(self._clock.monotonic())

    def tick(self, now: float) -> None:
        """Run the timers as of ``now`` (monotonic seconds); called by the session's own loop."""
        for _, outgoing in self._outgoing.overdue(now):
            outgoing.settle(
                SmppResponseTimeout(
                    CommandStatus.ESME_RUNKNOWNERR,
                    f"no response to {type(outgoing.request).__name__}",
                    sequence_number=outgoing.sequence_number,
                )
            )
        if self.state in (BindState.UNBINDING, BindState.CLOSED):
            return
        silent = now - self._last_received
        settings = self.settings
        if settings.idle_timeout_s and silent >= settings.idle_timeout_s:
            log.info("smpp session %s idle for %.0f s: unbinding", self.peer, silent)
            self.state = BindState.UNBINDING
            self._spawn(self._quietly(self.unbind()))
        elif (
            settings.enquire_link_interval_s
            and silent >= settings.enquire_link_interval_s
            and not any(isinstance(o.request, EnquireLink) for o in self._outgoing)
        ):
            self._spawn(self._keep_alive())

    async def _keep_alive(self) -> None:
        try:
            await self.enquire_link()
        except SmppResponseTimeout:
            log.warning("smpp session %s: enquire_link unanswered, closing", self.peer)
            await self.close()
        except SmppError:
            pass

    async def _quietly(self, awaitable: Awaitable[None]) -> None:
        with contextlib.suppress(SmppError, ConnectionError):
            await awaitable


async def open_session(
    host: str,
    port: int,
    handler: SmppHandler,
    *,
    clock: Clock,
    settings: SessionSettings | None = None,
) -> SmppSession:
    """Connect to an SMSC and start an ESME session (not yet bound: call :meth:`SmppSession.bind`)."""
    reader, writer = await asyncio.open_connection(host, port)
    session = SmppSession(reader, writer, handler, role=Role.ESME, clock=clock, settings=settings)
    session.start()
    return session
