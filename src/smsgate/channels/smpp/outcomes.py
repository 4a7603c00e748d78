"""What an SMSC's ``command_status`` for a submit_sm means for the message (codes.md §3.1).

=================================================  =====================================  ===========
command_status                                     outcome                                status/err
=================================================  =====================================  ===========
0x00 ESME_ROK                                      Accepted                               0 / 0
0x58 ESME_RTHROTTLED, 0x14 ESME_RMSGQFUL           retried; the bind pauses (throttled)   later
0x08 ESME_RSYSERR, 0x64 ESME_RX_T_APPN,            retried                                later
0xFF ESME_RUNKNOWNERR, 0x04 ESME_RINVBNDSTS,
0x0D ESME_RBINDFAIL, no answer / connection lost
0x0B ESME_RINVDSTADR                               PermanentFailure                       22 / 249
0x0A ESME_RINVSRCADR, 0x48/0x49 source TON/NPI     PermanentFailure                       20 / 254
``route_statuses`` (default 0x50, 0x51:            RouteFailure: next connector of the    25 / 248
destination TON/NPI)                               route; with none left
any other                                          PermanentFailure                       20 / 255
=================================================  =====================================  ===========

"Retried" messages go back to the queue with backoff; when their validity ends they expire 3/220
(codes.md §3.1). The table is **(smsgate definition)**, following codes.md §3.1 rows "0x0B",
"0x0A", "0x58, 0x14, 0x08, timeout" and "any other non-zero command_status".
"""

from __future__ import annotations

from collections.abc import Collection

from smsgate.channels.base import PermanentFailure, RouteFailure, TransientFailure
from smsgate.domain.codes import ErrCode, MessageStatus
from smsgate.protocols.smpp.constants import CommandStatus

S = CommandStatus

THROTTLING = frozenset({S.ESME_RTHROTTLED, S.ESME_RMSGQFUL})
TRANSIENT = THROTTLING | {
    S.ESME_RSYSERR,
    S.ESME_RX_T_APPN,
    S.ESME_RUNKNOWNERR,
    S.ESME_RINVBNDSTS,
    S.ESME_RBINDFAIL,
}
_PERMANENT = {
    S.ESME_RINVDSTADR: (MessageStatus.WRONG_NUMBER, ErrCode.INVALID_NUMBER),
    S.ESME_RINVSRCADR: (MessageStatus.CANNOT_DELIVER, ErrCode.UNREGISTERED_SENDER),
    S.ESME_RINVSRCTON: (MessageStatus.CANNOT_DELIVER, ErrCode.UNREGISTERED_SENDER),
    S.ESME_RINVSRCNPI: (MessageStatus.CANNOT_DELIVER, ErrCode.UNREGISTERED_SENDER),
}

Failure = TransientFailure | PermanentFailure | RouteFailure


def failure_for(status: int, route_statuses: Collection[int]) -> Failure:
    """The outcome of a submit_sm answered with the non-zero ``status`` (module table)."""
    name = _name(status)
    if status in TRANSIENT:
        return TransientFailure(f"SMSC answered {name}")
    if status in route_statuses:
        return RouteFailure(f"SMSC answered {name}")
    named = _status(status)
    known = _PERMANENT.get(named) if named is not None else None
    message_status, err = known or (MessageStatus.CANNOT_DELIVER, ErrCode.REJECTED_BY_OPERATOR)
    return PermanentFailure(message_status, err)


_BY_VALUE = {int(s): s for s in S}


def _status(status: int) -> CommandStatus | None:
    return _BY_VALUE.get(status)


def _name(status: int) -> str:
    known = _status(status)
    return known.name if known is not None else f"0x{status:08X}"
