"""Fixtures shared by the SMPP session tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.protocols.smpp.raw import RawPeer, RawSmsc, serve_raw


@pytest.fixture
async def raw_smsc() -> AsyncIterator[RawSmsc]:
    """A raw SMSC on 127.0.0.1: the test plays the operator's side PDU by PDU."""
    accepted: asyncio.Queue[RawPeer] = asyncio.Queue()
    server = await serve_raw(accepted)
    try:
        yield server.sockets[0].getsockname()[1], accepted
    finally:
        server.close()
        while not accepted.empty():
            async with accepted.get_nowait():
                pass
        await server.wait_closed()
