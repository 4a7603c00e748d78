"""Fixtures shared by the channel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.peers.smtp_relay import SmtpRelay


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    """An SMTP relay (aiosmtpd) on 127.0.0.1, listening."""
    relay = SmtpRelay()
    await relay.start()
    yield relay
    await relay.stop()
