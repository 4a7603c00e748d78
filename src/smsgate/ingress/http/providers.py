"""``POST /providers/calls/incoming``: incoming-call events from a voice provider (issue 7).

The event format and its HMAC signature are in domain/calls.py. Answers: 200 with
``{"confirmed": true, "id": <wait id>}`` or ``{"confirmed": false}``; 401 for a missing or wrong
signature; 400 for a malformed event or one whose ``time`` is further than ``wait_call.max_skew``
from now (a replay); 404 while ``wait_call.provider_secret`` is empty. Errors are RFC 7807
``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from smsgate.domain.calls import (
    MAX_EVENT_BYTES,
    SIGNATURE_HEADER,
    CallEventError,
    parse_event,
    signature_valid,
)
from smsgate.errors import StorageError
from smsgate.services.wait_calls import WaitCallService


def problem(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def incoming_call_endpoint(calls: WaitCallService) -> Callable[[Request], Awaitable[Response]]:
    secret = calls.settings.provider_secret
    max_skew_s = float(calls.settings.max_skew)

    async def incoming(request: Request) -> Response:
        if not secret:
            return PlainTextResponse("Not Found", status_code=404)
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_EVENT_BYTES:
                return problem(400, "Bad Request", "event too large")
        if not signature_valid(secret, bytes(body), request.headers.get(SIGNATURE_HEADER, "")):
            return problem(401, "Unauthorized", f"missing or wrong {SIGNATURE_HEADER}")
        try:
            event = parse_event(bytes(body))
        except CallEventError as exc:
            return problem(400, "Bad Request", str(exc))
        if event.at is not None and abs(event.at - calls.now()) > max_skew_s:
            return problem(400, "Bad Request", "'time' is too far from now")
        try:
            confirmed = await calls.incoming(event.caller, event.called, event.at)
        except StorageError:
            return PlainTextResponse(
                "temporarily unavailable", status_code=503, headers={"Retry-After": "5"}
            )
        if confirmed is None:
            return JSONResponse({"confirmed": False})
        return JSONResponse({"confirmed": True, "id": confirmed})

    return incoming
