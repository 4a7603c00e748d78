"""The connectors a dispatcher hands messages to: each a channel with its pacing (issue 4, "Routing"
and "Pacing").

A connector admits at most ``tps`` messages a second and ``window`` messages in flight (inside a
``submit`` call). The dispatcher works in batches, so admission never waits: :meth:`Connector.admit`
says how many of a group may go now, and :meth:`Connector.delay_for` when the rest will fit, which
becomes their new due time in the store (they are not held in memory, where a crash or an expiring
lease would lose track of them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from smsgate.channels.base import Channel
from smsgate.clock import Clock
from smsgate.dispatch.pacing import TokenBucket


@dataclass(frozen=True, slots=True)
class ConnectorLimits:
    """``tps`` ≤ 0 means no rate limit; ``window`` caps the messages inside one hand-over."""

    tps: float = 0.0
    window: int = 1000

    def __post_init__(self) -> None:
        if math.isnan(self.tps):
            raise ValueError("tps must be a number")
        if self.window < 1:
            raise ValueError(f"window must be at least 1, not {self.window}")


class Connector:
    def __init__(self, channel: Channel, limits: ConnectorLimits, clock: Clock) -> None:
        self.channel = channel
        self.limits = limits
        # A tenth of a second's worth of burst: batches taken every few tens of milliseconds
        # reach the full rate, and no second carries more than 1.1 × tps.
        burst = max(1, math.ceil(limits.tps / 10)) if limits.tps > 0 else 1
        self._bucket = TokenBucket(limits.tps, burst, clock)
        self.in_flight = 0

    @property
    def name(self) -> str:
        return self.channel.name

    @property
    def available(self) -> bool:
        return self.channel.available

    def admit(self, wanted: int) -> int:
        """How many of ``wanted`` messages may be handed over now; the tokens are taken."""
        room = max(0, self.limits.window - self.in_flight)
        return self._bucket.take_up_to(min(wanted, room))

    def delay_for(self, queued: int) -> float:
        """Seconds until ``queued`` more messages fit the rate."""
        return self._bucket.delay_for(queued)


class Connectors:
    """The connectors of one process by name; shared by its dispatchers, so pacing is per process."""

    def __init__(
        self,
        channels: Iterable[Channel],
        clock: Clock,
        limits: dict[str, ConnectorLimits] | None = None,
    ) -> None:
        limits = limits or {}
        self._by_name: dict[str, Connector] = {}
        for channel in channels:
            if channel.name in self._by_name:
                raise ValueError(f"two channels are named {channel.name!r}")
            self._by_name[channel.name] = Connector(
                channel, limits.get(channel.name, ConnectorLimits()), clock
            )

    def __iter__(self) -> Iterator[Connector]:
        return iter(self._by_name.values())

    def get(self, name: str | None) -> Connector | None:
        return self._by_name.get(name) if name is not None else None

    def choose(self, candidates: Sequence[str], tried: Iterable[str] = ()) -> Connector | None:
        """The first candidate that exists, is up and has not been tried; None when none is."""
        skip = set(tried)
        for name in candidates:
            connector = self._by_name.get(name)
            if connector is not None and name not in skip and connector.available:
                return connector
        return None
