"""The channel interface (issue 4): submit a batch, get an outcome per message; receipts later.

A channel never imports an ingress adapter and never touches the store: the dispatcher records what it
reports.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from smsgate.domain.codes import ErrCode, MessageStatus


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A claimed message as a channel needs it."""

    id: int
    phone: str
    msg_type: int
    sender: str | None
    text: str
    parts: int
    encoding: int
    options: str | None
    test: bool


@dataclass(frozen=True, slots=True)
class Accepted:
    """The channel took the message; receipts will name it by ``provider_id``.

    A channel that sent the parts separately (SMPP: one submit_sm per part, each with its own id)
    lists the other parts' ids in ``part_ids``, so a receipt naming any part finds the message, and
    says in ``receipts`` how many receipts to expect when that differs from the message's parts (one
    for a long text sent in one ``message_payload``); None: one per part.
    """

    provider_id: str
    part_ids: tuple[str, ...] = ()
    receipts: int | None = None


@dataclass(frozen=True, slots=True)
class TransientFailure:
    """Try again later (throttled, queue full, connector down)."""

    reason: str


@dataclass(frozen=True, slots=True)
class PermanentFailure:
    """The message cannot be sent: its final status and err (codes.md §3.1)."""

    status: MessageStatus
    err: int


@dataclass(frozen=True, slots=True)
class RouteFailure:
    """This connector cannot carry the message (the operator rejects the destination or the sender
    as unroutable): the dispatcher fails over to the next route; with none left, status 25/248."""

    reason: str


SubmitOutcome = Accepted | TransientFailure | PermanentFailure | RouteFailure


class DeliveryState(enum.Enum):
    """Receipt states (the ``stat`` of an SMPP receipt)."""

    DELIVERED = "DELIVRD"
    UNDELIVERABLE = "UNDELIV"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTD"
    ACCEPTED = "ACCEPTD"


@dataclass(frozen=True, slots=True)
class HlrResult:
    """The answer to an HLR request (type 4): status.php's ``imsi`` … ``rnet`` (http-api.md §3) and
    the SMPP HLR receipt fields (protocols.md §3.7).

    ``imsi`` is MCC + MNC + MSIN (15 digits); ``msc`` the E.164 address of the serving switch;
    ``cn``/``net`` the subscriber's home country and operator names; ``rcn``/``rnet`` the visited
    country and network, empty unless the subscriber is roaming. In test mode only ``mcc``, ``mnc``,
    ``cn`` and ``net`` are filled (protocols.md §1.5). Unknown values are empty strings.
    """

    imsi: str
    msc: str
    mcc: str
    mnc: str
    cn: str
    net: str
    rcn: str = ""
    rnet: str = ""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the channel learnt about one part of a message.

    ``hlr`` carries the answer of an HLR request (codes.md §3.1: answered → status 1, with err 0, 6 or
    13); ``billed_seconds`` the billed length of a voice call (type 7, ``sms_cnt`` in protocols.md
    §1.1; 0 for an unanswered call or in test mode). Both are None for other message types.
    """

    provider_id: str
    state: DeliveryState
    err: int = ErrCode.NONE
    hlr: HlrResult | None = None
    billed_seconds: int | None = None


class Channel(Protocol):
    name: str

    @property
    def available(self) -> bool:
        """Whether the channel can take messages now (an SMPP connector with no bound session
        cannot): the dispatcher sends to the next route instead."""
        ...

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        """Hand ``batch`` over; one outcome per message, in order."""
        ...

    def due_receipts(self, now: float) -> list[Receipt]:
        """Receipts that have arrived by ``now`` (each returned once)."""
        ...


@runtime_checkable
class RecoveringChannel(Channel, Protocol):
    """A channel that can say, after a crash, which messages it had already been handed."""

    async def recover(self, message_ids: Sequence[int]) -> dict[int, str]:
        """The provider id of each of ``message_ids`` the channel holds; absent ones it never got."""
        ...
