"""Dispatch-side pieces of upstream SMPP connectors (issue 5): their pacers and their limits.

Channels sit below dispatch, so an :class:`SmppConnector` is handed a factory for its binds' pacers
(``dispatch/pacing.py``'s :class:`Pacer`: TPS and throttle backoff) rather than importing it.
"""

from __future__ import annotations

from smsgate.channels.smpp.bind import PacerFactory
from smsgate.channels.smpp.settings import BindSettings, ConnectorSettings
from smsgate.clock import Clock
from smsgate.dispatch.connectors import ConnectorLimits
from smsgate.dispatch.pacing import Pacer, ThrottleBackoff

# A hand-over carries this many windows' worth of messages, so that the binds' windows stay full
# while the dispatcher records one batch and claims the next.
HANDOVER_WINDOWS = 20


def bind_pacers(clock: Clock) -> PacerFactory:
    """Pacers for binds: ``tps`` a second, throttles backing off to the cap (the window is the
    bind's own)."""

    def make(settings: BindSettings) -> Pacer:
        return Pacer(
            settings.tps, clock, backoff=ThrottleBackoff(cap_s=settings.throttle_backoff_max_s)
        )

    return make


def connector_limits(settings: ConnectorSettings) -> ConnectorLimits:
    """The dispatcher's limits for a connector: its binds' rate, and room for a deep hand-over
    (the binds' own pacers hold each submit_sm to the window and rate)."""
    return ConnectorLimits(tps=settings.tps, window=settings.window * HANDOVER_WINDOWS)
