"""A client's callback handler: a real HTTP/1.1 server on 127.0.0.1 (asyncio streams, keep-alive).

The test decides what it answers (``status``, ``retry_after``) and can take it down (``stop``: the
port then refuses connections) and bring it back on the same port (``start``). Every request is kept
with the time on the test's clock, its headers and its fields decoded from the body as the URL's
``fmt`` and charset say.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qsl

from tests.support.clock import ManualClock

_XML_FIELD = re.compile(r"<(\w+)>(.*?)</\1>", re.S)
_CHARSET = re.compile(r"charset=([\w-]+)")


@dataclass(frozen=True, slots=True)
class Received:
    at: float
    delivery_id: str
    headers: dict[str, str]
    body: bytes
    fields: list[tuple[str, str]]
    status_sent: int


def decode_fields(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """The fields of a callback body, as a handler in any language would read them."""
    found = _CHARSET.search(content_type)
    charset = found.group(1) if found else "utf-8"
    if content_type.startswith("application/json"):
        data = json.loads(body.decode(charset))
        assert isinstance(data, dict) and all(isinstance(v, str) for v in data.values())
        return [(str(k), str(v)) for k, v in data.items()]
    if content_type.startswith("text/xml"):
        text = body.decode(charset)
        head = f'<?xml version="1.0" encoding="{charset}"?>\n<data>'
        assert text.startswith(head) and text.endswith("</data>"), text
        inner = text[len(head) : -len("</data>")]
        return [(name, unescape(value)) for name, value in _XML_FIELD.findall(inner)]
    assert content_type.startswith("application/x-www-form-urlencoded"), content_type
    return parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding=charset)


class CallbackReceiver:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.status = 200
        self.retry_after: str | None = None
        self.received: list[Received] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every open connection: new connects are refused."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            # Each connection's handler ends on the close; none is left to be cancelled later.
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    def url(self, query: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/hook" + (f"?{query}" if query else "")

    def unique(self) -> dict[str, Received]:
        """The first request of each delivery id (what a de-duplicating handler keeps)."""
        kept: dict[str, Received] = {}
        for request in self.received:
            if request.status_sent < 300:
                kept.setdefault(request.delivery_id, request)
        return kept

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self.status
                self.received.append(
                    Received(
                        at=self.clock.now(),
                        delivery_id=headers.get("x-smsgate-delivery", ""),
                        headers=headers,
                        body=body,
                        fields=decode_fields(headers.get("content-type", ""), body),
                        status_sent=status,
                    )
                )
                extra = f"Retry-After: {self.retry_after}\r\n" if self.retry_after else ""
                answer = b"ok" if status < 300 else b"not now \x00\x1b[31m" + b"x" * 1000
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(answer)}\r\n{extra}\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            if handler is not None:
                self._handlers.discard(handler)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
