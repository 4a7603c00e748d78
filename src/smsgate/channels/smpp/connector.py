"""An upstream SMPP connector: a :class:`Channel` over one or more binds (issue 5, egress).

``submit(batch)`` sends every message of the batch concurrently, each part a submit_sm over one of
the connector's bound transmitters (the least loaded), inside that bind's window and rate. The
outcome of a message is decided by its parts (``outcomes.py`` has the command_status table):

* every part answered ``ESME_ROK`` → :class:`Accepted` with the first part's id as the provider id,
  the other parts' ids in ``part_ids`` (a receipt for any part finds the message) and ``receipts``,
  how many receipts to expect (one per submit_sm);
* the first part refused or unanswered → that part's failure; nothing has reached the SMSC, so a
  :class:`TransientFailure` is safe to retry later;
* a later part refused or unanswered → retried in place (``part_retries`` times, waiting for a bind
  when none is up), because resending the whole message would duplicate the parts that went; after
  that the message fails 20/220 (transient) or with the part's permanent outcome.

Receipts arrive as deliver_sm or data_sm on receiver and transceiver binds. Each is handed to the
receipt sink and answered only after the sink returns, that is after the receipt is durably stored
(style.md §3: no deliver_sm_resp before the commit). A sink failure is answered ``ESME_RX_T_APPN``,
which asks the SMSC to deliver it again; an unreadable receipt is answered ``ESME_RX_P_APPN``.

A deliver_sm or data_sm that is not a receipt is an incoming message (MO, ``mo.py``): it goes to the
MO sink and is answered after the sink returns, that is after it (or its part) is stored. Without an
MO sink, and for a message without readable text, the answer is ``ESME_RX_P_APPN``; a sink failure
is answered ``ESME_RX_T_APPN``. A message to a number nobody rents is acknowledged by the sink all
the same (logged and dropped there): operators redeliver unacknowledged MO forever.

Binds run only while the connector is owned (:meth:`set_owned`): with several nodes, one holds the
connector's lease at a time (``dispatch/ownership.py``), and the others keep it unavailable.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Sequence

from smsgate.channels.base import (
    Accepted,
    OutgoingMessage,
    PermanentFailure,
    Receipt,
    RouteFailure,
    SubmitOutcome,
    TransientFailure,
)
from smsgate.channels.smpp.bind import PacerFactory, UpstreamBind
from smsgate.channels.smpp.ids import normalise_id
from smsgate.channels.smpp.mo import NotText, incoming_part
from smsgate.channels.smpp.outcomes import THROTTLING, failure_for
from smsgate.channels.smpp.parts import UnsupportedMessage, submit_pdus
from smsgate.channels.smpp.receipts import NotAReceipt, is_receipt, receipt_of
from smsgate.channels.smpp.settings import ConnectorSettings
from smsgate.clock import Clock, within
from smsgate.domain.codes import ErrCode, MessageStatus
from smsgate.domain.inbound import IncomingPart
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError
from smsgate.protocols.smpp.pdu import DataSm, DeliverSm, SubmitSm

log = logging.getLogger(__name__)

ReceiptSink = Callable[[str, Sequence[Receipt]], Awaitable[None]]
"""Stores receipts durably: (connector name, receipts); returns after the commit."""

MoSink = Callable[[str, IncomingPart], Awaitable[object]]
"""Stores an incoming SMS or part durably: (connector name, part); returns after the commit."""


class ConnectorState(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class SmppConnector:
    """A channel (``channels/base.py``) over SMPP binds; an async context manager (module docstring)."""

    def __init__(
        self,
        settings: ConnectorSettings,
        clock: Clock,
        sink: ReceiptSink,
        pacer_factory: PacerFactory,
        *,
        seed: int | None = None,
        mo_sink: MoSink | None = None,
    ) -> None:
        self.name = settings.name
        self._mo_sink = mo_sink
        self.settings = settings
        self.state = ConnectorState.NEW
        self._clock = clock
        self._sink = sink
        rng = random.Random(seed)  # reconnect jitter and concatenation references, nothing secret
        self.binds = [
            UpstreamBind(
                bind,
                clock,
                self._on_request,
                pacer=pacer_factory(bind),
                label=f"{settings.name}#{index}",
                rng=rng,
            )
            for index, bind in enumerate(settings.binds)
        ]
        self._submitters = [b for b in self.binds if b.settings.mode.submits]
        self._references = itertools.count(rng.randrange(0x10000))
        self._owned = False

    # --- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> SmppConnector:
        if self.state is not ConnectorState.NEW:
            raise RuntimeError(f"connector {self.name} is {self.state.value}; it opens once")
        self.state = ConnectorState.OPEN
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.set_owned(False)
        self.state = ConnectorState.CLOSED

    @property
    def owned(self) -> bool:
        return self._owned

    async def set_owned(self, owned: bool) -> None:
        """Run the binds (this node holds the connector) or unbind them (another node does)."""
        if owned and self.state is not ConnectorState.OPEN:
            raise RuntimeError(f"connector {self.name} is {self.state.value}")
        if owned == self._owned:
            return
        self._owned = owned
        if owned:
            for bind in self.binds:
                bind.start()
        else:
            await asyncio.gather(*(bind.stop() for bind in self.binds))

    async def start(self) -> None:
        """Own the connector regardless of leases (single-node use, tests, the benchmark)."""
        await self.set_owned(True)

    async def wait_up(self) -> None:
        """Until a bind that submits is bound."""
        waiters = [
            asyncio.ensure_future(b.wait_up()) for b in self.binds if b.settings.mode.submits
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    # --- Channel ---------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return self._owned and any(b.up and b.settings.mode.submits for b in self.binds)

    def due_receipts(self, now: float) -> list[Receipt]:
        """Nothing: receipts go to the sink as they arrive, before they are answered."""
        return []

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        # Set going a window's worth per pass of the event loop: preparing a few hundred submit_sm
        # at once (about 13 µs each) would keep the answers already waiting from being read, and
        # the window from refilling, for milliseconds.
        chunk = max(1, self.settings.window)
        sends: list[asyncio.Future[SubmitOutcome]] = []
        for start in range(0, len(batch), chunk):
            if start:
                await asyncio.sleep(0)
            sends.extend(
                asyncio.ensure_future(self._submit_one(m)) for m in batch[start : start + chunk]
            )
        return await asyncio.gather(*sends)

    async def _submit_one(self, message: OutgoingMessage) -> SubmitOutcome:
        bind = self._choose()
        if bind is None:
            return TransientFailure("no bind is up")
        try:
            pdus = submit_pdus(message, bind.settings, self.settings, next(self._references))
        except (UnsupportedMessage, ValueError) as exc:
            return RouteFailure(str(exc))
        ids: list[str] = []
        try:
            for pdu in pdus:
                outcome = await self._send_part(pdu, bind, later=bool(ids))
                if not isinstance(outcome, str):
                    return outcome
                ids.append(outcome)
        except Exception:
            log.exception("%s: message %d failed after %d parts", self.name, message.id, len(ids))
            if not ids:
                return TransientFailure("connector error")
            return PermanentFailure(MessageStatus.CANNOT_DELIVER, ErrCode.REJECTED_BY_OPERATOR)
        return Accepted(ids[0], part_ids=tuple(ids[1:]), receipts=len(ids))

    async def _send_part(
        self, pdu: SubmitSm, first_choice: UpstreamBind, *, later: bool
    ) -> str | TransientFailure | PermanentFailure | RouteFailure:
        """The normalised id of the part, or the failure to report for the message; sent over
        ``first_choice`` while it is up, else over another bind."""
        attempts = 1 + (self.settings.part_retries if later else 0)
        failure: TransientFailure | PermanentFailure | RouteFailure = TransientFailure("no bind")
        while attempts > 0:
            bind = first_choice if first_choice.up else self._choose()
            if bind is None:
                if not later:
                    return TransientFailure("no bind is up")
                if not await self._wait_up_within(self.settings.binds[0].response_timeout_s):
                    attempts -= 1
                continue
            attempts -= 1
            response = await bind.send(pdu)
            if response is None:
                failure = TransientFailure("submit_sm unanswered")
            elif response.command_status == CommandStatus.ESME_ROK:
                return normalise_id(response.message_id, self.settings.submit_id_format)
            else:
                if response.command_status in THROTTLING:
                    bind.throttled()
                failure = failure_for(response.command_status, self.settings.route_statuses)
            if not (later and isinstance(failure, TransientFailure)):
                break
        if later and isinstance(failure, TransientFailure):
            return PermanentFailure(MessageStatus.CANNOT_DELIVER, ErrCode.OPERATOR_QUEUE_OVERFLOW)
        return failure

    def _choose(self) -> UpstreamBind | None:
        """The least loaded bound bind that submits."""
        best: UpstreamBind | None = None
        for bind in self._submitters:
            if bind.up and (best is None or bind.load < best.load):
                best = bind
        return best

    async def _wait_up_within(self, seconds: float) -> bool:
        """Whether a submitting bind came up within ``seconds``."""
        try:
            await within(self._clock, seconds, self.wait_up())
        except TimeoutError:
            return False
        return True

    # --- receipts ----------------------------------------------------------------------------------

    async def _on_request(self, pdu: DeliverSm | DataSm) -> None:
        """A deliver_sm or data_sm from the SMSC: store its receipt (or the incoming message it
        carries), then let it be answered."""
        if not is_receipt(pdu):
            await self._on_incoming(pdu)
            return
        try:
            receipt = receipt_of(pdu, self.settings.receipt_id_format)
        except NotAReceipt as exc:
            log.warning("%s: unreadable receipt dropped: %s", self.name, exc)
            raise SmppError(CommandStatus.ESME_RX_P_APPN, str(exc)) from exc
        try:
            await self._sink(self.name, [receipt])
        except Exception as exc:
            log.exception("%s: receipt %s not stored", self.name, receipt.provider_id)
            raise SmppError(CommandStatus.ESME_RX_T_APPN, "receipt not stored") from exc

    # --- incoming messages (MO) ------------------------------------------------------------------

    async def _on_incoming(self, pdu: DeliverSm | DataSm) -> None:
        if self._mo_sink is None:
            raise SmppError(CommandStatus.ESME_RX_P_APPN, "MO messages are not taken here")
        try:
            part = incoming_part(pdu)
        except NotText as exc:
            log.warning("%s: unreadable incoming message dropped: %s", self.name, exc)
            raise SmppError(CommandStatus.ESME_RX_P_APPN, str(exc)) from exc
        try:
            await self._mo_sink(self.name, part)
        except Exception as exc:
            log.exception("%s: incoming message from %s not stored", self.name, part.phone)
            raise SmppError(CommandStatus.ESME_RX_T_APPN, "incoming message not stored") from exc
