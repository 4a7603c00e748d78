"""The HTTP/1.1 protocol class: uvicorn's httptools protocol with one SMSC-specific answer.

httptools refuses request targets over 64 KiB before the application sees them, and uvicorn then
answers ``400 Invalid HTTP request``. The compatible API promises HTTP 200 with an error body for
every API-level outcome (http-api.md §1.1), so an over-long URL is answered with error 1 in the
``fmt`` found in it, as an over-long body is.
"""

from __future__ import annotations

import re

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from smsgate.domain.codes import RequestErrorCode
from smsgate.ingress.http.formats import ErrorReply, encode

# httptools' own limit on a request target (url_parser.pyx, MAX_URL_LENGTH).
MAX_URL_LENGTH = (1 << 16) - 1
_FMT = re.compile(rb"[?&]fmt=([0-3])(?:&|$)")


class CompatHttpProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        url: bytes = getattr(self, "url", b"") or b""
        if len(url) <= MAX_URL_LENGTH:
            super().send_400_response(msg)
            return
        found = _FMT.search(url)
        fmt = int(found.group(1)) if found else 0
        code = RequestErrorCode.PARAMETERS
        body, media_type = encode(ErrorReply(int(code), code.description), fmt, "utf-8")
        head = (
            b"HTTP/1.1 200 OK\r\n"
            + f"content-type: {media_type}\r\ncontent-length: {len(body)}\r\n".encode("ascii")
            + b"connection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()
