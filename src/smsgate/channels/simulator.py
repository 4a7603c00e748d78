"""The built-in operator simulator: the embedded default route, so that everything runs with no outside
network (issue 4).

Outcomes depend on the recipient, deterministically: a number ending in 0 is unknown to the network
(undeliverable, err 1), one ending in 9 never answers (no receipt), one ending in 8 is offline (err 6);
every other message is delivered. Each part gets its own receipt after ``latency_s``. Messages sent in
test mode are delivered with err 200 (virtual sending) after ``test_delay_s``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from smsgate.channels.base import (
    Accepted,
    DeliveryState,
    OutgoingMessage,
    Receipt,
    SubmitOutcome,
)
from smsgate.clock import Clock
from smsgate.domain.codes import ErrCode

NAME = "simulator"


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    latency_s: float = 0.0
    test_delay_s: float = 1.0


def outcome_for(phone: str) -> tuple[DeliveryState, int] | None:
    """The simulated network's answer for ``phone``; None for silence."""
    last = phone[-1:] if phone[-1:].isdigit() else ""
    if last == "0":
        return DeliveryState.UNDELIVERABLE, ErrCode.NO_SUBSCRIBER
    if last == "9":
        return None
    if last == "8":
        return DeliveryState.UNDELIVERABLE, ErrCode.SUBSCRIBER_OFFLINE
    return DeliveryState.DELIVERED, ErrCode.NONE


@dataclass(slots=True)
class SimulatorChannel:
    clock: Clock
    settings: SimulatorSettings = field(default_factory=SimulatorSettings)
    name: str = NAME
    # Every message id it was handed, in order: the simulator's own log (a message handed over twice
    # shows up twice here).
    submitted: list[int] = field(default_factory=list)
    _pending: list[tuple[float, int, Receipt]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        now = self.clock.now()
        outcomes: list[SubmitOutcome] = []
        for message in batch:
            self.submitted.append(message.id)
            provider_id = f"sim-{message.id}"
            outcomes.append(Accepted(provider_id))
            if message.test:
                result: tuple[DeliveryState, int] | None = (
                    DeliveryState.DELIVERED,
                    ErrCode.VIRTUAL,
                )
                at = now + self.settings.test_delay_s
            else:
                result = outcome_for(message.phone)
                at = now + self.settings.latency_s
            if result is None:
                continue
            state, err = result
            for _ in range(max(message.parts, 1)):
                receipt = Receipt(provider_id, state, err)
                heapq.heappush(self._pending, (at, next(self._order), receipt))
        return outcomes

    def due_receipts(self, now: float) -> list[Receipt]:
        due: list[Receipt] = []
        while self._pending and self._pending[0][0] <= now:
            due.append(heapq.heappop(self._pending)[2])
        return due

    def pending_receipts(self) -> int:
        return len(self._pending)
