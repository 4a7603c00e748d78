"""A scripted HTTP/1.1 server on 127.0.0.1 for the HTTP client's tests (callbacks, fetched files)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
Answer = Callable[[int, bytes], bytes | None]  # (request number, request) → reply; None: no reply


def reply(status_line: str, body: bytes, *headers: str) -> bytes:
    """A whole response: ``reply("200 OK", b"...", "Content-Type: text/plain")``."""
    head = [f"HTTP/1.1 {status_line}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class ScriptedServer:
    """HTTP/1.1 on 127.0.0.1 that answers each request with ``answer``; counts connections."""

    def __init__(self, answer: Answer, ssl_ctx: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.ssl = ssl_ctx
        self.connections = 0
        self.requests: list[bytes] = []
        self.close_after_each = False
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                reply = self.answer(len(self.requests), request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if self.close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
