"""Incoming-call events from a voice provider (issue 7: wait_call.php, http-api.md §12).

**(smsgate definition)** ``POST /providers/calls/incoming`` with a JSON object
``{"from": "<caller>", "to": "<number called>", "time": <Unix seconds>}`` (``time`` optional: now),
signed with a header ``X-Smsgate-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes
under ``wait_call.provider_secret``. Pure functions: parsing and the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Smsgate-Signature"
SIGNATURE_SCHEME = "sha256="
MAX_EVENT_BYTES = 4096


class CallEventError(ValueError):
    """The body is not an incoming-call event."""


@dataclass(frozen=True, slots=True)
class IncomingCall:
    caller: str
    called: str
    at: float | None  # None: the provider did not say (now)


def sign(secret: str, body: bytes) -> str:
    """The header value for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return SIGNATURE_SCHEME + digest


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    return bool(secret) and hmac.compare_digest(sign(secret, body), header.strip())


def parse_event(body: bytes) -> IncomingCall:
    if len(body) > MAX_EVENT_BYTES:
        raise CallEventError("event too large")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CallEventError("not a JSON object") from None
    if not isinstance(data, dict):
        raise CallEventError("not a JSON object")
    caller, called, at = data.get("from"), data.get("to"), data.get("time")
    if not isinstance(caller, str) or not caller.strip():
        raise CallEventError("'from' must be the caller's number")
    if not isinstance(called, str) or not called.strip():
        raise CallEventError("'to' must be the number called")
    if at is not None and (
        isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at)
    ):
        raise CallEventError("'time' must be Unix seconds")
    return IncomingCall(caller.strip(), called.strip(), None if at is None else float(at))
