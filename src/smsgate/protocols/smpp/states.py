"""Bind state machine (SMPP 3.4 §2.3, §2.4 table 2-1): which requests each side may receive when.

Pure: :func:`check_request` answers "may a peer send this request to us now?" with ``None`` (yes) or the
command_status to refuse it with: ``ESME_RALYBND`` for a second bind, ``ESME_RINVBNDSTS`` for anything
else out of place (protocols.md §3.3). ``enquire_link`` is allowed in every state. Whether *we* may send
a request is the same question asked from the peer's side (:func:`check_outgoing`).
"""

from __future__ import annotations

from enum import Enum

from smsgate.protocols.smpp.constants import CommandId, CommandStatus

C = CommandId


class Role(Enum):
    """Which end of the bind this session is."""

    # Members are singletons compared by identity; hashing by identity too spares the Python-level
    # Enum.__hash__ on every look-up of the table below (twice per PDU sent or received).
    __hash__ = object.__hash__

    SMSC = "smsc"  # the server: ESMEs bind to it
    ESME = "esme"  # the client

    @property
    def peer(self) -> Role:
        return Role.ESME if self is Role.SMSC else Role.SMSC


class BindState(Enum):
    __hash__ = object.__hash__  # as Role's

    OPEN = "open"  # connected, not bound
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"  # unbind sent or received; only enquire_link and unbind pass
    CLOSED = "closed"

    @property
    def is_bound(self) -> bool:
        return self in (BindState.BOUND_TX, BindState.BOUND_RX, BindState.BOUND_TRX)


STATE_AFTER_BIND = {
    C.BIND_TRANSMITTER: BindState.BOUND_TX,
    C.BIND_RECEIVER: BindState.BOUND_RX,
    C.BIND_TRANSCEIVER: BindState.BOUND_TRX,
    C.BIND_TRANSMITTER_RESP: BindState.BOUND_TX,
    C.BIND_RECEIVER_RESP: BindState.BOUND_RX,
    C.BIND_TRANSCEIVER_RESP: BindState.BOUND_TRX,
}

_BINDS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
_LINK = frozenset({C.ENQUIRE_LINK, C.UNBIND})
# Requests an ESME issues as a transmitter, and an SMSC issues to a receiver (table 2-1).
_TO_SMSC = frozenset(
    {C.SUBMIT_SM, C.SUBMIT_MULTI, C.DATA_SM, C.QUERY_SM, C.CANCEL_SM, C.REPLACE_SM}
)
_TO_ESME = frozenset({C.DELIVER_SM, C.DATA_SM, C.ALERT_NOTIFICATION})

_ALLOWED: dict[tuple[Role, BindState], frozenset[CommandId]] = {
    (Role.SMSC, BindState.OPEN): _BINDS | {C.ENQUIRE_LINK},
    (Role.SMSC, BindState.BOUND_TX): _LINK | _TO_SMSC,
    (Role.SMSC, BindState.BOUND_RX): _LINK,
    (Role.SMSC, BindState.BOUND_TRX): _LINK | _TO_SMSC,
    (Role.SMSC, BindState.UNBINDING): _LINK,
    (Role.ESME, BindState.OPEN): frozenset({C.OUTBIND, C.ENQUIRE_LINK}),
    (Role.ESME, BindState.BOUND_TX): _LINK,
    (Role.ESME, BindState.BOUND_RX): _LINK | _TO_ESME,
    (Role.ESME, BindState.BOUND_TRX): _LINK | _TO_ESME,
    (Role.ESME, BindState.UNBINDING): _LINK,
}


def check_request(role: Role, state: BindState, command_id: int) -> CommandStatus | None:
    """``None`` when a session in ``role`` and ``state`` may receive the request, else the refusal."""
    if command_id == C.ENQUIRE_LINK:
        return None
    allowed = _ALLOWED.get((role, state))
    if allowed is not None and command_id in allowed:
        return None
    if role is Role.SMSC and command_id in _BINDS and state is not BindState.OPEN:
        return CommandStatus.ESME_RALYBND
    return CommandStatus.ESME_RINVBNDSTS


def check_outgoing(role: Role, state: BindState, command_id: int) -> CommandStatus | None:
    """``None`` when a session in ``role`` and ``state`` may send the request, else the reason not."""
    return check_request(role.peer, state, command_id)
