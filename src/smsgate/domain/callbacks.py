"""Callbacks to the client's handler: fields, signature, body and retry schedule (http-api.md §14).

Pure functions only: the sender (``dispatch/callbacks.py``) does the I/O. The URL's own query string
chooses the body (``fmt=2`` XML, ``fmt=3`` JSON, else a form), its charset and which signatures are
appended (``md5``, ``sha1``, ``crc32``, in that order when several are present).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from enum import IntEnum
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.sax.saxutils import escape

from smsgate.domain.codes import MessageType
from smsgate.domain.money import display
from smsgate.domain.smsc_time import format_date

Fields = Sequence[tuple[str, str]]

# http-api.md §14: field order of each event (every field always sent, empty when it has no value).
STATUS_FIELDS = (
    "id",
    "phone",
    "status",
    "time",
    "ts",
    "err",
    "cnt",
    "cost",
    "type",
    "sender",
    "mccmnc",
    "comment",
)
HLR_FIELDS = ("imsi", "msc", "mcc", "mnc", "cn", "net", "rcn", "rnet")
INCOMING_FIELDS = ("id", "phone", "mes", "to", "sent", "time")
CALL_FIELDS = ("event", "id", "phone", "to", "time", "ts")
SIGNATURES = ("md5", "sha1", "crc32")

# Backoff (http-api.md §14): 10 s doubling up to 1 h between tries.
FIRST_RETRY_S = 10.0
MAX_RETRY_S = 3600.0
# A 429 waits at least twice the ordinary step, and Retry-After is honoured up to this bound.
MAX_RETRY_AFTER_S = 6 * 3600.0

_CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "windows-1251": "windows-1251",
    "cp1251": "windows-1251",
    "koi8-r": "koi8-r",
    "koi8r": "koi8-r",
}
_MEDIA_TYPES = {0: "application/x-www-form-urlencoded", 2: "text/xml", 3: "application/json"}
# Built once: json.dumps makes a new encoder on every call that passes options.
_JSON = json.JSONEncoder(ensure_ascii=False)


class CallbackKind(IntEnum):
    """What a callback reports."""

    STATUS = 0
    INCOMING = 1
    CALL = 2


class DeliveryState(IntEnum):
    """A callback delivery's state: waiting for its (next) try, delivered, or given up."""

    PENDING = 0
    DELIVERED = 1
    FAILED = 2


@dataclass(frozen=True, slots=True)
class UrlOptions:
    """What the handler's URL asks for with SMSC's switches."""

    fmt: int  # 0 form, 2 XML, 3 JSON
    charset: str
    signatures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A status change of a message, with what the callback reports about the message."""

    client_id: str
    phone: str
    status: int
    err: int
    at: float
    parts: int
    cost: Decimal
    msg_type: int
    sender: str | None
    mccmnc: str | None
    comment: str | None
    # The HLR answer (JSON object of imsi, msc, mcc, mnc, cn, net, rcn, rnet), if any.
    hlr: str | None
    tz_minutes: int


def status_fields(event: StatusEvent) -> list[tuple[str, str]]:
    """The status callback's fields in order (http-api.md §14); HLR requests add the answer."""
    fields = [
        ("id", event.client_id),
        ("phone", event.phone),
        ("status", str(event.status)),
        ("time", format_date(event.at, event.tz_minutes)),
        ("ts", str(int(event.at))),
        ("err", str(event.err)),
        ("cnt", str(event.parts)),
        ("cost", display(event.cost)),
        ("type", str(event.msg_type)),
        ("sender", event.sender or ""),
        ("mccmnc", event.mccmnc or ""),
        ("comment", event.comment or ""),
    ]
    if event.msg_type == MessageType.HLR:
        answer = _json_object(event.hlr)
        fields += [(name, str(answer.get(name) or "")) for name in HLR_FIELDS]
    return fields


def incoming_fields(
    incoming_id: int, phone: str, mes: str, to: str, sent: float, tz_minutes: int
) -> list[tuple[str, str]]:
    """The incoming-SMS callback's fields in order (http-api.md §14)."""
    return [
        ("id", str(incoming_id)),
        ("phone", phone),
        ("mes", mes),
        ("to", to),
        ("sent", str(int(sent))),
        ("time", format_date(sent, tz_minutes)),
    ]


def call_fields(
    wait_id: int, phone: str, to: str, at: float, tz_minutes: int
) -> list[tuple[str, str]]:
    """The call-confirmation callback's fields in order (http-api.md §12, §14)."""
    return [
        ("event", "call"),
        ("id", str(wait_id)),
        ("phone", phone),
        ("to", to),
        ("time", format_date(at, tz_minutes)),
        ("ts", str(int(at))),
    ]


def dump_fields(fields: Fields) -> str:
    return _JSON.encode([[name, value] for name, value in fields])


def load_fields(text: str) -> list[tuple[str, str]]:
    """Fields stored by :func:`dump_fields`; anything else is a ValueError."""
    data = json.loads(text)
    if type(data) is not list:
        raise ValueError("stored callback fields are not a list")
    fields = []
    for pair in data:
        # json.loads makes exact lists and strs: the type checks are exact (and cheap).
        if type(pair) is not list or len(pair) != 2:
            raise ValueError("stored callback field is not a [name, value] pair")
        name, value = pair
        if type(name) is not str or type(value) is not str:
            raise ValueError("stored callback field is not a [name, value] pair")
        fields.append((name, value))
    return fields


def _json_object(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def url_options(url: str) -> UrlOptions:
    """Read ``fmt``, ``charset`` and the signature switches from the URL's query string.

    Defaults: a form in windows-1251 (as on SMSC, so existing handlers work unchanged); XML and JSON
    default to utf-8 and never use koi8-r. An unknown charset falls back to the default.
    """
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    fmt = {"2": 2, "3": 3}.get(query.get("fmt", "").strip(), 0)
    default = "windows-1251" if fmt == 0 else "utf-8"
    charset = _CHARSETS.get(query.get("charset", "").strip().lower(), default)
    if fmt != 0 and charset == "koi8-r":
        charset = "utf-8"
    return UrlOptions(fmt, charset, tuple(name for name in SIGNATURES if name in query))


def signature(algorithm: str, fields: Fields, secret: str, charset: str) -> str:
    """The ``md5``/``sha1`` lowercase hex digest or ``crc32`` unsigned decimal over the values
    joined by ``:``, then ``:`` and the secret, encoded in the callback's charset."""
    data = (":".join([value for _, value in fields]) + ":" + secret).encode(charset, "replace")
    if algorithm == "md5":
        return hashlib.md5(data, usedforsecurity=False).hexdigest()
    if algorithm == "sha1":
        return hashlib.sha1(data, usedforsecurity=False).hexdigest()
    if algorithm == "crc32":
        return str(zlib.crc32(data) & 0xFFFFFFFF)
    raise ValueError(f"unknown signature {algorithm!r}")


def signed_fields(fields: Fields, options: UrlOptions, secret: str) -> list[tuple[str, str]]:
    """The event's fields followed by one field per signature the URL asks for."""
    signed = list(fields)
    for algorithm in options.signatures:
        signed.append((algorithm, signature(algorithm, fields, secret, options.charset)))
    return signed


def render_body(fields: Fields, options: UrlOptions) -> tuple[bytes, str]:
    """The request body and its Content-Type; unencodable characters become ``?`` (form, JSON) or
    character references (XML)."""
    charset = options.charset
    media_type = f"{_MEDIA_TYPES[options.fmt]}; charset={charset}"
    if options.fmt == 2:
        inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields)
        document = f'<?xml version="1.0" encoding="{charset}"?>\n<data>{inner}</data>'
        return document.encode(charset, "xmlcharrefreplace"), media_type
    if options.fmt == 3:
        return _JSON.encode(dict(fields)).encode(charset, "replace"), media_type
    return urlencode(list(fields), encoding=charset, errors="replace").encode("ascii"), media_type


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed tries: 10, 20, 40 … capped at 1 h."""
    return min(MAX_RETRY_S, FIRST_RETRY_S * 2.0 ** max(attempts - 1, 0))


def throttled_delay(attempts: int, retry_after_s: float | None) -> float:
    """After a 429: at least twice the ordinary step (capped at 1 h) and at least Retry-After."""
    slower = min(MAX_RETRY_S, 2 * retry_delay(attempts))
    if retry_after_s is None:
        return slower
    return max(slower, min(retry_after_s, MAX_RETRY_AFTER_S))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now)


def is_public_address(address: str) -> bool:
    """False for loopback, link-local, private, shared (100.64/10), unspecified, multicast and
    reserved addresses (IPv4-mapped IPv6 judged by the IPv4 address): callbacks may not reach the
    inside network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
    )


def check_url_syntax(url: str) -> str | None:
    """Why ``url`` cannot be a callback URL (only http and https with a host), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http:// and https:// callback URLs are allowed"
    if not parts.hostname:
        return "the callback URL has no host"
    if port == 0:
        return "the callback URL has an invalid port"
    return None
