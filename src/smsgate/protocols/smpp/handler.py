"""What a session asks of the code above it: one method per request (style.md §2.4, like aiosmtpd).

The session owns the grammar (framing, bind state, sequence numbers, enquire_link, unbind); the
handler makes the decisions. Each ``handle_*`` method gets the session and a typed request and returns
the typed response, or raises :class:`SmppError` to answer with that status (``ESME_RTHROTTLED``,
``ESME_RINVDSTADR`` …); any other exception is logged and answered with ``ESME_RSYSERR``. The session
copies the request's sequence number into the response, so ``pdu.resp(...)`` or ``XxxResp()`` both do.
A ``handle_submit_sm`` that has answered by itself (:meth:`SmppSession.answer`, for a simulator that
times its answers to the microsecond) returns None, and the session writes nothing more.

:class:`BaseHandler` answers every request with ``ESME_RINVCMDID`` ("not supported"); subclass it and
override what you serve. A server (Role.SMSC) implements ``handle_bind`` and ``handle_submit_sm`` …; a
client (Role.ESME) implements ``handle_deliver_sm`` and ``handle_data_sm``. The listener creates one
handler per connection, so per-session state (the bound account) lives on the handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError
from smsgate.protocols.smpp.pdu import (
    AlertNotification,
    Bind,
    BindResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    Outbind,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)

if TYPE_CHECKING:
    from smsgate.protocols.smpp.session import SmppSession


class SmppHandler(Protocol):
    """The seam between a session and its owner (server ingress, upstream connector, simulator)."""

    async def handle_bind(self, session: SmppSession, pdu: Bind) -> BindResp:
        """Authenticate; a response with status 0 binds the session, any other closes it (SMSC)."""
        ...

    async def handle_submit_sm(self, session: SmppSession, pdu: SubmitSm) -> SubmitSmResp | None:
        """The response, or None once answered with :meth:`SmppSession.answer`."""
        ...

    async def handle_submit_multi(
        self, session: SmppSession, pdu: SubmitMulti
    ) -> SubmitMultiResp: ...

    async def handle_deliver_sm(self, session: SmppSession, pdu: DeliverSm) -> DeliverSmResp: ...

    async def handle_data_sm(self, session: SmppSession, pdu: DataSm) -> DataSmResp: ...

    async def handle_query_sm(self, session: SmppSession, pdu: QuerySm) -> QuerySmResp: ...

    async def handle_cancel_sm(self, session: SmppSession, pdu: CancelSm) -> CancelSmResp: ...

    async def handle_replace_sm(self, session: SmppSession, pdu: ReplaceSm) -> ReplaceSmResp: ...

    async def handle_outbind(self, session: SmppSession, pdu: Outbind) -> None:
        """The SMSC asks this ESME to bind (no response PDU exists)."""
        ...

    async def handle_alert_notification(
        self, session: SmppSession, pdu: AlertNotification
    ) -> None: ...

    async def handle_unbind(self, session: SmppSession, pdu: Unbind) -> None:
        """The peer unbinds; the session answers unbind_resp and closes after this returns."""
        ...

    def session_closed(self, session: SmppSession) -> None:
        """Called once when the connection is gone, whatever the reason."""
        ...


def _unsupported(command: str) -> SmppError:
    return SmppError(CommandStatus.ESME_RINVCMDID, f"{command} not supported")


class BaseHandler:
    """Answers every request with ESME_RINVCMDID and ignores notifications; override what you serve."""

    async def handle_bind(self, session: SmppSession, pdu: Bind) -> BindResp:
        raise SmppError(CommandStatus.ESME_RBINDFAIL, "this end accepts no binds")

    async def handle_submit_sm(self, session: SmppSession, pdu: SubmitSm) -> SubmitSmResp | None:
        raise _unsupported("submit_sm")

    async def handle_submit_multi(self, session: SmppSession, pdu: SubmitMulti) -> SubmitMultiResp:
        raise _unsupported("submit_multi")

    async def handle_deliver_sm(self, session: SmppSession, pdu: DeliverSm) -> DeliverSmResp:
        raise _unsupported("deliver_sm")

    async def handle_data_sm(self, session: SmppSession, pdu: DataSm) -> DataSmResp:
        raise _unsupported("data_sm")

    async def handle_query_sm(self, session: SmppSession, pdu: QuerySm) -> QuerySmResp:
        raise _unsupported("query_sm")

    async def handle_cancel_sm(self, session: SmppSession, pdu: CancelSm) -> CancelSmResp:
        raise _unsupported("cancel_sm")

    async def handle_replace_sm(self, session: SmppSession, pdu: ReplaceSm) -> ReplaceSmResp:
        raise _unsupported("replace_sm")

    async def handle_outbind(self, session: SmppSession, pdu: Outbind) -> None:
        return None

    async def handle_alert_notification(self, session: SmppSession, pdu: AlertNotification) -> None:
        return None

    async def handle_unbind(self, session: SmppSession, pdu: Unbind) -> None:
        return None

    def session_closed(self, session: SmppSession) -> None:
        return None
