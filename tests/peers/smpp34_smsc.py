"""An operator SMSC built on an independent SMPP implementation: ``smpp34``'s Server (a Rust/tokio
core with its own codec, windowing and timers), driven from asyncio.

It answers submit_sm with ids in upper-case zero-padded hex and delivers each receipt with the id in
decimal, as operators that mix the two do. ``hold`` keeps submits unanswered until :meth:`release`,
so the ESME's window can be seen from outside. Arrival times are read from the test's clock.

smpp34's Server cannot listen on port 0 and report the port; a free port is found by binding a
socket to port 0 and closing it just before the server binds it (the small window in which another
process could take it is accepted for a test peer).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import smpp34

from tests.support.clock import ManualClock


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Smpp34Smsc:
    def __init__(self, clock: ManualClock, port: int | None = None, *, hold: bool = False) -> None:
        self.clock = clock
        self.port = port or free_port()
        self.hold = hold
        self.held: list[smpp34.SubmitSmEvent] = []
        self.arrivals: list[float] = []
        self.outstanding = 0
        self.max_outstanding = 0
        self.accepted: list[str] = []  # hex ids, as answered
        self.receipts_answered: list[int] = []  # deliver_sm_resp command_status
        self.binds = 0
        self._esmes: dict[str, smpp34.Esme] = {}
        self._numbers = 0
        self._server: smpp34.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._receipts: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Smpp34Smsc:
        self._server = smpp34.Server("127.0.0.1", self.port, system_id="independent")
        await self._server.start()
        self._task = asyncio.create_task(self._serve())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server: every connection drops, as when an operator's SMSC goes away."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._receipts):
            task.cancel()
        await asyncio.gather(*self._receipts, return_exceptions=True)
        if self._server is not None:
            await self._server.stop()

    async def wait_for(self, predicate_count: int, *, held: bool = False) -> None:
        """Until ``predicate_count`` submits have arrived (or, with ``held``, are being held)."""
        while (len(self.held) if held else len(self.arrivals)) < predicate_count:
            self._changed.clear()
            await self._changed.wait()

    async def wait_receipts(self, count: int) -> None:
        """Until ``count`` receipts have been answered by the ESME."""
        while len(self.receipts_answered) < count:
            self._changed.clear()
            await self._changed.wait()

    def release(self) -> None:
        held, self.held = self.held, []
        for event in held:
            self._answer(event)

    async def _serve(self) -> None:
        assert self._server is not None
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                self._esmes[event.session_id] = event
                self.binds += 1
            elif isinstance(event, smpp34.Unbound):
                self._esmes.pop(event.session_id, None)
            elif isinstance(event, smpp34.SubmitSmEvent):
                self.arrivals.append(self.clock.monotonic())
                self.outstanding += 1
                self.max_outstanding = max(self.max_outstanding, self.outstanding)
                if self.hold:
                    self.held.append(event)
                else:
                    self._answer(event)
            self._changed.set()

    def _answer(self, event: smpp34.SubmitSmEvent) -> None:
        self._numbers += 1
        message_id = f"{self._numbers:08X}"
        event.accept(message_id)
        self.outstanding -= 1
        self.accepted.append(message_id)
        esme = self._esmes.get(event.session_id)
        if esme is not None:
            task = asyncio.create_task(self._receipt(esme, event, self._numbers))
            self._receipts.add(task)
            task.add_done_callback(self._receipts.discard)

    async def _receipt(self, esme: smpp34.Esme, event: smpp34.SubmitSmEvent, number: int) -> None:
        text = (
            f"id:{number} sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 "
            "stat:DELIVRD err:000 text:"
        )
        response = await esme.deliver_sm(
            event.source_addr,
            text.encode("ascii"),
            source_addr=event.destination_addr,
            esm_class=0x04,
        )
        self.receipts_answered.append(response.command_status)
        self._changed.set()
