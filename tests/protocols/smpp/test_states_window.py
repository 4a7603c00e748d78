"""Bind state table, sequence numbers, in-flight bookkeeping, and the status enum against codes.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smsgate.protocols.smpp.constants import CommandId, CommandStatus
from smsgate.protocols.smpp.states import BindState, Role, check_outgoing, check_request
from smsgate.protocols.smpp.window import MAX_SEQUENCE, InFlight, SequenceNumbers

C, S = CommandId, CommandStatus
CODES_MD = Path(__file__).resolve().parents[4] / "shared" / "spec" / "codes.md"


@pytest.mark.parametrize(
    ("role", "state", "command_id", "expected"),
    [
        (Role.SMSC, BindState.OPEN, C.BIND_TRANSCEIVER, None),
        (Role.SMSC, BindState.OPEN, C.ENQUIRE_LINK, None),
        (Role.SMSC, BindState.OPEN, C.SUBMIT_SM, S.ESME_RINVBNDSTS),
        (Role.SMSC, BindState.OPEN, C.UNBIND, S.ESME_RINVBNDSTS),
        (Role.SMSC, BindState.BOUND_TX, C.SUBMIT_SM, None),
        (Role.SMSC, BindState.BOUND_TX, C.BIND_TRANSMITTER, S.ESME_RALYBND),
        (Role.SMSC, BindState.BOUND_RX, C.SUBMIT_SM, S.ESME_RINVBNDSTS),
        (Role.SMSC, BindState.BOUND_RX, C.UNBIND, None),
        (Role.SMSC, BindState.BOUND_TRX, C.QUERY_SM, None),
        (Role.SMSC, BindState.BOUND_TRX, C.DELIVER_SM, S.ESME_RINVBNDSTS),
        (Role.SMSC, BindState.UNBINDING, C.SUBMIT_SM, S.ESME_RINVBNDSTS),
        (Role.SMSC, BindState.CLOSED, C.ENQUIRE_LINK, None),
        (Role.ESME, BindState.OPEN, C.OUTBIND, None),
        (Role.ESME, BindState.BOUND_TX, C.DELIVER_SM, S.ESME_RINVBNDSTS),
        (Role.ESME, BindState.BOUND_RX, C.DELIVER_SM, None),
        (Role.ESME, BindState.BOUND_TRX, C.DATA_SM, None),
        (Role.ESME, BindState.BOUND_TRX, C.ALERT_NOTIFICATION, None),
        (Role.ESME, BindState.BOUND_TRX, C.SUBMIT_SM, S.ESME_RINVBNDSTS),
    ],
)
def test_bind_state_table(
    role: Role, state: BindState, command_id: CommandId, expected: CommandStatus | None
) -> None:
    assert check_request(role, state, command_id) == expected


def test_outgoing_is_the_peers_incoming() -> None:
    assert check_outgoing(Role.ESME, BindState.OPEN, C.BIND_TRANSMITTER) is None
    assert check_outgoing(Role.ESME, BindState.BOUND_RX, C.SUBMIT_SM) == S.ESME_RINVBNDSTS
    assert check_outgoing(Role.SMSC, BindState.BOUND_TX, C.DELIVER_SM) == S.ESME_RINVBNDSTS


def test_sequence_numbers_wrap_and_skip_those_in_flight() -> None:
    in_flight: InFlight[str] = InFlight()
    in_flight.add(1, "still waiting", deadline=10.0)
    numbers = SequenceNumbers(start=MAX_SEQUENCE - 1)
    assert [numbers.next(in_flight) for _ in range(3)] == [MAX_SEQUENCE - 1, MAX_SEQUENCE, 2]
    with pytest.raises(ValueError):
        SequenceNumbers(start=0)


def test_in_flight_overdue() -> None:
    in_flight: InFlight[str] = InFlight()
    in_flight.add(1, "a", deadline=10.0)
    in_flight.add(2, "b", deadline=20.0)
    with pytest.raises(ValueError):
        in_flight.add(2, "again", deadline=30.0)
    assert in_flight.overdue(now=10.0) == [(1, "a")]
    assert in_flight.pop(2) == "b"
    assert in_flight.pop(2) is None
    assert len(in_flight) == 0


def test_statuses_smsgate_sends_match_codes_md() -> None:
    if not CODES_MD.exists():
        pytest.skip(f"{CODES_MD} not present")
    text = CODES_MD.read_text(encoding="utf-8")
    table = text[text.index("### 6.1") : text.index("### 6.2")]
    rows = re.findall(r"^\| 0x([0-9A-F]{8}) \| (ESME_\w+) \|", table, flags=re.M)
    assert len(rows) > 20
    for value, name in rows:
        assert CommandStatus[name] == int(value, 16), name
