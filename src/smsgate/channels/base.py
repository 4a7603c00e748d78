"""The channel interface (issue 4): submit a batch, get an outcome per message; receipts later.

A channel never imports an ingress adapter and never touches the store: the dispatcher records what it
reports.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
    """The channel took the message; receipts will name it by ``provider_id``."""

    provider_id: str


@dataclass(frozen=True, slots=True)
class TransientFailure:
    """Try again later (throttled, queue full, connector down)."""

    reason: str


@dataclass(frozen=True, slots=True)
class PermanentFailure:
    """The message cannot be sent: its final status and err (codes.md §3.1)."""

    status: MessageStatus
    err: int


SubmitOutcome = Accepted | TransientFailure | PermanentFailure


class DeliveryState(enum.Enum):
    """Receipt states (the ``stat`` of an SMPP receipt)."""

    DELIVERED = "DELIVRD"
    UNDELIVERABLE = "UNDELIV"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTD"
    ACCEPTED = "ACCEPTD"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the channel learnt about one part of a message."""

    provider_id: str
    state: DeliveryState
    err: int = ErrCode.NONE


class Channel(Protocol):
    name: str

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        """Hand ``batch`` over; one outcome per message, in order."""
        ...

    def due_receipts(self, now: float) -> list[Receipt]:
        """Receipts that have arrived by ``now`` (each returned once)."""
        ...
