"""Fixtures shared by the channel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smsgate.channels.email import EmailChannel
from smsgate.config import EmailSettings, Seconds
from smsgate.dispatch.worker import Dispatcher
from smsgate.services.container import Services
from tests.peers.smtp_relay import SmtpRelay
from tests.support.clock import ManualClock


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    """An SMTP relay (aiosmtpd) on 127.0.0.1, listening."""
    relay = SmtpRelay()
    await relay.start()
    yield relay
    await relay.stop()


@pytest.fixture
async def channel(
    services: Services, relay: SmtpRelay, clock: ManualClock
) -> AsyncIterator[EmailChannel]:
    """The e-mail channel sending through ``relay`` (a module may override either)."""
    settings = EmailSettings(
        host="127.0.0.1",
        port=relay.port,
        default_from="noreply@gateway.test",
        helo_name="smsgate.test",
        reconnect=Seconds(30),
    )
    async with EmailChannel(settings, clock, attachments=services.attachments.load) as channel:
        yield channel


@pytest.fixture
def dispatcher(services: Services, channel: EmailChannel, clock: ManualClock) -> Dispatcher:
    """A dispatcher whose only channel is ``channel``."""
    return Dispatcher(services.writer, [channel], clock, seed=1)
