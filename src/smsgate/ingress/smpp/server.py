"""The SMPP server (protocols.md §3): binds, submits, queries, cancels and receipts of one node.

Each connection gets an :class:`SmppIngress` handler (the session layer owns the grammar, the handler
decides). A submit is answered only after the message, or the segment, is durably stored. Receipts
are read from the store's event rows per account (the node holding the account's receipt cursor
delivers them) and sent to the account's bound receivers in turn; the cursor moves only past
receipts a receiver acknowledged, so receipts wait in the store while nobody is bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import defaultdict
from dataclasses import replace

from smsgate.clock import Clock, utc_datetime
from smsgate.config import SmppSettings
from smsgate.dispatch.pacing import TokenBucket
from smsgate.domain.codes import MessageStatus, RequestErrorCode
from smsgate.domain.smsc_time import account_zone
from smsgate.errors import RequestError, StorageError
from smsgate.ingress.smpp.incoming import IncomingPump  # MO, protocols.md §3.8
from smsgate.ingress.smpp.receipts import receipt_pdu, state_of, wants_receipt
from smsgate.ingress.smpp.submit import Submission, fingerprint, read_submit, status_for
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError, SmppResponseTimeout, SmppSessionClosed
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.listener import SmppListener
from smsgate.protocols.smpp.pdu import (
    Bind,
    BindResp,
    CancelSm,
    CancelSmResp,
    DeliverSm,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
)
from smsgate.protocols.smpp.session import SessionSettings, SmppSession
from smsgate.protocols.smpp.smpp_time import format_absolute
from smsgate.protocols.smpp.states import BindState
from smsgate.protocols.smpp.tlv import Tlvs
from smsgate.services.auth import BindRefusal, BindRefused
from smsgate.services.container import Services
from smsgate.services.sending import SendOptions
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.smpp import ReceiptEvent

log = logging.getLogger(__name__)
DEFAULT_TLS_PORT = 3550  # with a certificate and no smpp.tls_port (protocols.md §3.1)

RECEIPT_POLL_S = 0.2
RECEIPT_BATCH = 200
RECEIPT_LEASE_S = 30.0
RECEIPT_RETRY_S = 5.0
# How long a stopping server waits for its clients' unbind_resp (real time: shutdown must end).
UNBIND_GRACE_S = 2.0
_RETRY_LATER = frozenset(
    {CommandStatus.ESME_RX_T_APPN, CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL}
)
_BIND_STATUS = {
    BindRefusal.LOCKED_OUT: CommandStatus.ESME_RBINDFAIL,
    BindRefusal.BAD_CREDENTIALS: CommandStatus.ESME_RINVPASWD,
    BindRefusal.ACCESS_OFF: CommandStatus.ESME_RBINDFAIL,
    BindRefusal.IP_NOT_ALLOWED: CommandStatus.ESME_RBINDFAIL,
}
# A reassembled message refused as a whole ends in the status a rejected recipient gets.
_STATUS_BY_ERROR = {
    RequestErrorCode.NO_MONEY: MessageStatus.NO_FUNDS,
    RequestErrorCode.INVALID_PHONE: MessageStatus.WRONG_NUMBER,
    RequestErrorCode.FORBIDDEN: MessageStatus.PROHIBITED,
}


def tls_context(settings: SmppSettings) -> ssl.SSLContext | None:
    """The server TLS context from ``smpp.tls_cert``/``smpp.tls_key``, or None without them; a bad
    certificate fails here, at start-up."""
    if not settings.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key or None)
    return context


class SmppServer:
    """The listeners, the bound sessions by account and the receipt pump of this node."""

    def __init__(
        self,
        services: Services,
        settings: SmppSettings,
        clock: Clock,
        *,
        host: str,
        node: str,
        reuse_port: bool = False,
    ) -> None:
        self._host = host
        self._reuse_port = reuse_port
        self.services = services
        self.settings = settings
        self.clock = clock
        self.node = node
        self.bound: dict[int, list[tuple[SmppSession, AccountRecord]]] = defaultdict(list)
        self._rates: dict[int, TokenBucket] = {}
        self._listeners: list[SmppListener] = []
        self._pump: asyncio.Task[None] | None = None
        self._turn: dict[int, int] = defaultdict(int)
        self._cursors: dict[int, tuple[int, float]] = {}  # account → (last event, lease renewed)
        self._retry_at: dict[int, float] = {}
        self.ports: dict[str, int] = {}
        self._incoming = IncomingPump(
            services.incoming_smpp,
            services.policies.get,
            self._send_pdu,
            node=node,
            retention_s=float(settings.dlr_retention),
        )

    async def __aenter__(self) -> SmppServer:
        """Listen on ``smpp.port`` (and ``smpp.tls_port`` with a certificate); start receipts."""
        session_settings = SessionSettings(
            inbound_window=self.settings.window,
            enquire_link_interval_s=0,  # the client keeps the link alive; we time out idle ones
            idle_timeout_s=float(self.settings.idle_timeout),
        )
        ports: list[tuple[str, int, ssl.SSLContext | None]] = [("smpp", self.settings.port, None)]
        context = tls_context(self.settings)
        if context is not None:
            tls_port = self.settings.tls_port
            ports.append(("smpps", DEFAULT_TLS_PORT if tls_port is None else tls_port, context))
        try:
            for name, port, ssl_context in ports:
                listener = SmppListener(
                    self.handler,
                    self.clock,
                    host=self._host,
                    port=port,
                    settings=session_settings,
                    ssl_context=ssl_context,
                    reuse_port=self._reuse_port,
                )
                await listener.__aenter__()
                self._listeners.append(listener)
                self.ports[name] = listener.port
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        self._pump = asyncio.create_task(self._pump_receipts(), name="smpp-receipts")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        sessions = [session for listener in self._listeners for session in listener.sessions]
        if sessions:  # unbind everyone at once, and give up on peers that do not answer
            await asyncio.wait(
                [asyncio.ensure_future(_unbind(session)) for session in sessions],
                timeout=UNBIND_GRACE_S,
            )
            for session in sessions:
                await session.close()
        for listener in self._listeners:
            await listener.__aexit__(None, None, None)
        for account_id in list(self._cursors):
            with contextlib.suppress(StorageError):
                await self.services.smpp.release_cursor(account_id, self.node)

    def listening(self) -> dict[str, bool]:
        return {name: True for name in self.ports}

    def handler(self) -> SmppIngress:
        return SmppIngress(self)

    # --- sessions ---------------------------------------------------------------------------------

    def register(self, session: SmppSession, account: AccountRecord) -> None:
        if len(self.bound[account.id]) >= self.settings.max_sessions:
            raise SmppError(CommandStatus.ESME_RBINDFAIL, "too many sessions")
        self.bound[account.id].append((session, account))

    def unregister(self, session: SmppSession, account: AccountRecord) -> None:
        sessions = self.bound.get(account.id, [])
        sessions[:] = [(s, a) for s, a in sessions if s is not session]
        if not sessions:
            self.bound.pop(account.id, None)

    def allow_submit(self, account_id: int) -> bool:
        """The per-account submit rate of this node (``smpp.max_rate``; 0 = unlimited)."""
        rate = self.settings.max_rate
        if rate <= 0:
            return True
        bucket = self._rates.get(account_id)
        if bucket is None:
            bucket = self._rates[account_id] = TokenBucket(rate, rate, self.clock)
        return bucket.try_acquire()

    def _receivers(self, account_id: int) -> list[tuple[SmppSession, AccountRecord]]:
        return [
            (session, account)
            for session, account in self.bound.get(account_id, [])
            if session.state in (BindState.BOUND_RX, BindState.BOUND_TRX) and not session.closed
        ]

    # --- receipts ---------------------------------------------------------------------------------

    async def _pump_receipts(self) -> None:
        while True:
            try:
                for account_id in list(self.bound):
                    await self._deliver(account_id)
                for account_id in [a for a in self._cursors if not self._receivers(a)]:
                    del self._cursors[account_id]
                    await self.services.smpp.release_cursor(account_id, self.node)
            except Exception:  # the store may be away for a moment; receipts wait in it
                log.exception("receipt delivery failed")
            await self.clock.sleep(RECEIPT_POLL_S)

    async def _deliver(self, account_id: int) -> None:
        if not self._receivers(account_id):
            return
        now = self.clock.monotonic()
        if self._retry_at.get(account_id, 0.0) > now:
            return
        cursor = await self._cursor(account_id, now)
        if cursor is None:
            return
        retention = float(self.settings.dlr_retention)
        found, scanned = await self.services.smpp.receipt_events(
            account_id, cursor, retention, RECEIPT_BATCH
        )
        delivered_to = scanned
        for event in found:
            if not wants_receipt(event.receipt, event.status):
                continue
            if not await self._send_receipt(account_id, event):
                delivered_to = event.event_id - 1
                self._retry_at[account_id] = self.clock.monotonic() + RECEIPT_RETRY_S
                break
        if delivered_to > cursor:
            await self.services.smpp.advance_cursor(account_id, self.node, delivered_to)
            self._cursors[account_id] = (delivered_to, self._cursors[account_id][1])
        receivers = self._receivers(account_id)
        paused = self._retry_at.get(account_id, 0.0) > self.clock.monotonic()
        if receivers and not paused and not await self._incoming.deliver(receivers[0][1]):
            self._retry_at[account_id] = self.clock.monotonic() + RECEIPT_RETRY_S

    async def _cursor(self, account_id: int, now: float) -> int | None:
        held = self._cursors.get(account_id)
        if held is not None and now - held[1] < RECEIPT_LEASE_S / 3:
            return held[0]
        last = await self.services.smpp.lease_cursor(account_id, self.node, RECEIPT_LEASE_S)
        if last is None:
            self._cursors.pop(account_id, None)
            return None
        self._cursors[account_id] = (last, now)
        return last

    async def _send_receipt(self, account_id: int, event: ReceiptEvent) -> bool:
        """Send one receipt to the next bound receiver; False when it is to be tried again."""
        receivers = self._receivers(account_id)
        if not receivers:
            return False
        zone = account_zone(receivers[0][1].tz_minutes)
        status = await self._send_pdu(account_id, receipt_pdu(event, zone))
        if status is None:
            return False
        if status != CommandStatus.ESME_ROK:
            log.warning("receipt for %d dropped: status 0x%08X", event.message_id, status)
        return True

    async def _send_pdu(self, account_id: int, pdu: DeliverSm) -> int | None:
        """Send ``pdu`` to the account's next bound receiver: its command_status, or None when
        it is to be tried again (none bound, no answer, or an answer asking to retry)."""
        receivers = self._receivers(account_id)
        if not receivers:
            return None
        turn = self._turn[account_id] % len(receivers)
        self._turn[account_id] += 1
        session, _account = receivers[turn]
        try:
            status = (await session.deliver_sm(pdu)).command_status
        except (SmppResponseTimeout, SmppSessionClosed, OSError, TimeoutError):
            return None
        except SmppError as exc:  # generic_nack
            status = exc.status
        return None if status in _RETRY_LATER else int(status)


class SmppIngress(BaseHandler):
    """One connection's handler: the bound account lives here."""

    def __init__(self, server: SmppServer) -> None:
        self._server = server
        self._services = server.services
        self._account: AccountRecord | None = None
        self._iso = False
        self._ip = ""

    async def handle_bind(self, session: SmppSession, pdu: Bind) -> BindResp:
        peer = session.peer
        self._ip = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        try:
            account = await self._services.auth.bind_smpp(pdu.system_id, pdu.password, self._ip)
        except BindRefused as refused:
            raise SmppError(_BIND_STATUS[refused.refusal], refused.refusal.value) from None
        except StorageError:
            raise SmppError(CommandStatus.ESME_RSYSERR, "store unavailable") from None
        self._server.register(session, account)
        self._account = account
        self._iso = pdu.system_type.strip().upper() == "ISO"
        await self._services.smpp.open_cursor(account.id)
        return pdu.resp(
            system_id=self._server.settings.system_id, tlvs=Tlvs(sc_interface_version=0x34)
        )

    async def handle_submit_sm(self, session: SmppSession, pdu: SubmitSm) -> SubmitSmResp:
        account = self._bound()
        if not self._server.allow_submit(account.id):
            raise SmppError(CommandStatus.ESME_RTHROTTLED, "submit rate")
        now = utc_datetime(self._server.clock.now())
        submission = read_submit(pdu, iso=self._iso, now=now)
        concat = submission.concat
        if concat is not None and concat.total > 1:
            return pdu.resp(message_id=str(await self._segment(pdu, submission)))
        return pdu.resp(message_id=str(await self._send(account, submission)))

    async def handle_query_sm(self, session: SmppSession, pdu: QuerySm) -> QuerySmResp:
        account = self._bound()
        message_id = _message_id(pdu.message_id)
        state = await self._services.smpp.message_state(account.id, message_id)
        if state is None:
            raise SmppError(CommandStatus.ESME_RQUERYFAIL, "no such message")
        final = state.status in _FINAL
        final_date = ""
        if final:
            zone = account_zone(account.tz_minutes)
            final_date = format_absolute(utc_datetime(state.updated_at).astimezone(zone))
        return QuerySmResp(
            pdu.sequence_number,
            message_id=pdu.message_id,
            final_date=final_date,
            message_state=int(state_of(state.status)),
            error_code=min(state.err, 255),
        )

    async def handle_cancel_sm(self, session: SmppSession, pdu: CancelSm) -> CancelSmResp:
        account = self._bound()
        if pdu.message_id:
            cancelled = await self._services.smpp.cancel(
                account.id, message_id=_message_id(pdu.message_id)
            )
        else:
            cancelled = await self._services.smpp.cancel(
                account.id, addresses=(pdu.source_addr, pdu.destination_addr)
            )
        if not cancelled:
            raise SmppError(CommandStatus.ESME_RCANCELFAIL, "nothing to cancel")
        return CancelSmResp(pdu.sequence_number)

    def session_closed(self, session: SmppSession) -> None:
        if self._account is not None:
            self._server.unregister(session, self._account)

    # --- helpers ----------------------------------------------------------------------------------

    def _bound(self) -> AccountRecord:
        if self._account is None:  # the session layer lets nothing else through unbound
            raise SmppError(CommandStatus.ESME_RINVBNDSTS, "not bound")
        return self._account

    async def _send(
        self, account: AccountRecord, submission: Submission, placeholder: int | None = None
    ) -> int:
        """Store the message; the SMPP status of a refusal as ``SmppError``."""
        try:
            return await self._store(account, submission, placeholder)
        except RequestError as exc:
            raise SmppError(
                status_for(exc.code, exc.detail), exc.detail or exc.description
            ) from None

    async def _store(
        self, account: AccountRecord, submission: Submission, placeholder: int | None
    ) -> int:
        options = SendOptions(
            fingerprint=submission.fingerprint,
            ip=self._ip,
            smpp_receipt=submission.receipt,
            placeholder_id=placeholder,
        )
        try:
            result = await self._services.sending.send(account, submission.request, options)
        except StorageError:
            raise SmppError(CommandStatus.ESME_RSYSERR, "store unavailable") from None
        return result.message_ids[0]

    async def _segment(self, pdu: SubmitSm, submission: Submission) -> int:
        """Store one segment; with the last one, send the reassembled message under the id that
        every segment was answered with (protocols.md §3.6)."""
        account = self._bound()
        concat = submission.concat
        assert concat is not None
        reference = submission.reference(pdu.source_addr, pdu.destination_addr)
        smpp = self._services.smpp
        try:
            stored = await smpp.store_segment(
                account,
                reference,
                seq=concat.seqnum,
                total=concat.total,
                text=submission.request.mes,
                destination=pdu.destination_addr,
                sender=pdu.source_addr or None,
                receipt=submission.receipt,
            )
        except StorageError:
            raise SmppError(CommandStatus.ESME_RSYSERR, "store unavailable") from None
        if stored.complete_text is None:
            return stored.message_id
        whole = replace(
            submission,
            request=replace(submission.request, mes=stored.complete_text),
            concat=None,
            fingerprint=fingerprint(pdu, stored.complete_text),
        )
        try:
            await self._store(account, whole, stored.message_id)
        except RequestError as exc:
            status = _STATUS_BY_ERROR.get(exc.code, MessageStatus.CANNOT_DELIVER)
            await smpp.fail_placeholder(stored.message_id, status, 0)
            raise SmppError(
                status_for(exc.code, exc.detail), exc.detail or exc.description
            ) from None
        finally:
            await smpp.forget_segments(account.id, reference)
        return stored.message_id


_FINAL = frozenset(int(s) for s in MessageStatus if s.is_final)


async def _unbind(session: SmppSession) -> None:
    if session.state.is_bound:
        with contextlib.suppress(SmppError, OSError):
            await session.unbind()


def _message_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise SmppError(CommandStatus.ESME_RINVMSGID, f"message_id {text!r}")
    return int(text)
