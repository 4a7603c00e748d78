"""Parts of concatenated messages put back together (protocols.md §3.6).

:func:`segment_of` reads one submit_sm/deliver_sm/data_sm: its user data (short_message or
message_payload, never both), the UDH elements, and the concatenation from the UDH or the SAR TLVs.
:class:`Reassembler` collects parts under a caller's key (account, source, destination …) plus the
reference and total, and hands back all parts in order once the last arrives. It is pure: the caller
passes ``now`` (``clock.monotonic()``) and calls :meth:`Reassembler.expire` from its own timer.

Bounds: at most ``max_pending`` incomplete messages (a new one beyond that →
``SmppError(ESME_RMSGQFUL)``, after expired ones are dropped) and each waits at most ``timeout_s``
from its first part.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from smsgate.protocols.smpp.constants import CommandStatus, EsmClass
from smsgate.protocols.smpp.errors import SmppError
from smsgate.protocols.smpp.pdu import DataSm, ShortMessage
from smsgate.protocols.smpp.udh import Concatenation, InformationElement, concatenation, split_udh

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Segment:
    """The user data of one PDU, with its concatenation (``None`` for a whole message)."""

    payload: bytes
    elements: tuple[InformationElement, ...] = ()
    concat: Concatenation | None = None


def segment_of(pdu: ShortMessage | DataSm) -> Segment:
    """User data, UDH and concatenation of ``pdu``.

    short_message and message_payload both non-empty → ``ESME_RINVMSGLEN`` (protocols.md §3.4); SAR
    numbers that are incomplete or impossible → ``ESME_RINVOPTPARAMVAL``; bad UDH → ``ESME_RINVMSGLEN``.
    """
    tlvs = pdu.tlvs
    data = pdu.short_message if isinstance(pdu, ShortMessage) else b""
    if tlvs.message_payload is not None:
        if data:
            raise SmppError(CommandStatus.ESME_RINVMSGLEN, "short_message and message_payload")
        data = tlvs.message_payload
    elements: tuple[InformationElement, ...] = ()
    concat = None
    if pdu.esm_class & EsmClass.UDHI:
        elements, data = split_udh(data)
        concat = concatenation(elements)
    sar = (tlvs.sar_msg_ref_num, tlvs.sar_total_segments, tlvs.sar_segment_seqnum)
    if sar != (None, None, None) and concat is None:
        ref, total, seqnum = sar
        if ref is None or total is None or seqnum is None:
            raise SmppError(CommandStatus.ESME_RINVOPTPARAMVAL, "incomplete SAR parameters")
        concat = Concatenation(ref, total, seqnum, wide=True).check(
            CommandStatus.ESME_RINVOPTPARAMVAL
        )
    return Segment(data, elements, concat)


@dataclass(frozen=True, slots=True)
class PartAdded(Generic[T]):
    """What :meth:`Reassembler.add` did: ``first`` part of its message, a ``duplicate`` seqnum that was
    ignored, or ``parts`` — every part in seqnum order when this one completed the message."""

    first: bool = False
    duplicate: bool = False
    parts: tuple[T, ...] | None = None


@dataclass(frozen=True, slots=True)
class Expired(Generic[T]):
    """An incomplete message dropped by :meth:`Reassembler.expire`, with the parts it had."""

    key: Hashable
    total: int
    parts: dict[int, T]


class _Pending(Generic[T]):
    __slots__ = ("deadline", "parts", "total")

    def __init__(self, total: int, deadline: float) -> None:
        self.total = total
        self.deadline = deadline
        self.parts: dict[int, T] = {}


class Reassembler(Generic[T]):
    """Bounded, time-limited collection of message parts (module docstring)."""

    def __init__(self, *, timeout_s: float = 300.0, max_pending: int = 10_000) -> None:
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        # Insertion order = order of first parts = order of deadlines, so expiry pops from the front.
        self._pending: dict[tuple[Hashable, int, int], _Pending[T]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, key: Hashable, concat: Concatenation, part: T, now: float) -> PartAdded[T]:
        """Record ``part``; see :class:`PartAdded`. A single-part message completes at once."""
        if concat.total == 1:
            return PartAdded(first=True, parts=(part,))
        slot = (key, concat.reference, concat.total)
        pending = self._pending.get(slot)
        first = pending is None
        if pending is None:
            self.expire(now)
            if len(self._pending) >= self.max_pending:
                raise SmppError(CommandStatus.ESME_RMSGQFUL, "too many incomplete messages")
            pending = self._pending[slot] = _Pending(concat.total, now + self.timeout_s)
        elif concat.seqnum in pending.parts:
            return PartAdded(duplicate=True)
        pending.parts[concat.seqnum] = part
        if len(pending.parts) < pending.total:
            return PartAdded(first=first)
        del self._pending[slot]
        return PartAdded(
            first=first, parts=tuple(pending.parts[n] for n in range(1, concat.total + 1))
        )

    def expire(self, now: float) -> list[Expired[T]]:
        """Drop and return every incomplete message whose deadline has passed."""
        expired: list[Expired[T]] = []
        while self._pending:
            slot, pending = next(iter(self._pending.items()))
            if pending.deadline > now:
                break
            del self._pending[slot]
            expired.append(Expired(slot[0], pending.total, pending.parts))
        return expired
