"""status.php (http-api.md §3): the status of one message or of many, and deletion with ``del=1``.

Parameters: ``id``, ``phone``, ``all`` (0/1/2), ``del`` (1). A comma in ``id`` or ``phone`` makes a
multi request. Errors (codes.md §1.2): 1 parameters, 2 and 4 from the pipeline, 5 ``delete error``,
9 rate limits (http-api.md §1.7: ``limits.status_same`` per message, ``limits.status_bulk`` for
multi requests).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from smsgate.domain.codes import MessageStatus, MessageType, RequestErrorCode
from smsgate.domain.smsc_time import format_date
from smsgate.errors import RequestError
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import (
    ListReply,
    OkReply,
    Record,
    Reply,
    Value,
    json_value,
    one_line,
    text_value,
    to_json,
    xml_element,
)
from smsgate.ingress.http.params import Params
from smsgate.services.guards import request_fingerprint
from smsgate.services.statuses import MessageKey, message_key
from smsgate.store.repos.messages import MessageRecord

MAX_PAIRS = 1000
PATH = "/sys/status.php"
# Every multi request of a login counts toward one limit (http-api.md §1.7).
_BULK_FINGERPRINT = "status.php:multi"
_DELETE_ERROR = "delete error"  # codes.md §1.2, status.php error 5

# HLR results (http-api.md §3), after ``err`` at every level; empty until the answer arrives.
HLR_FIELDS = ("imsi", "msc", "mcc", "mnc", "cn", "net", "rcn", "rnet")
# Field names of fmt 2/3 per level, in order (http-api.md §3 "Fields per level").
_LEVEL0 = ("status", "last_date", "last_timestamp", "flag", "err")
_LEVEL1 = (
    "send_date",
    "send_timestamp",
    "phone",
    "cost",
    "sender_id",
    "status_name",
    "message",
    "comment",
    "type",
    "sms_cnt",
)
_LEVEL2 = ("country", "operator", "operator_orig", "region", "mccmnc")
_STATUS_NAMES = {int(status): status.status_name for status in MessageStatus}
_TAIL = ("sender_id", "status_name", "message", "comment", "type")

Layout = tuple[tuple[str, str], ...]
"""(label, field) pairs; fmt 0 writes ``label = value``, fmt 1 the bare values."""


@dataclass(frozen=True, slots=True)
class StatusQuery:
    """A parsed status.php request: (id, phone) pairs as written, the ``all`` level, ``del``."""

    pairs: tuple[tuple[str, str], ...]
    multi: bool
    level: int
    delete: bool


def parse_query(params: Params) -> StatusQuery:
    """Validate the parameters; error 1 for anything http-api.md §3 does not allow.

    Lists pair up by position, empty trailing items are ignored, and a single phone applies to
    every id (smsgate definition); an empty item elsewhere, other length mismatches or more than
    1000 pairs are error 1, as are ``del=1`` with a multi request and ``all``/``del`` out of range.
    """
    ids_text, phones_text = params.get("id"), params.get("phone")
    multi = "," in ids_text or "," in phones_text
    ids, phones = _items(ids_text), _items(phones_text)
    if not ids or not phones:
        raise _parameters_error("id and phone are required")
    if len(phones) == 1:
        phones = phones * len(ids)
    if len(ids) != len(phones) or len(ids) > MAX_PAIRS:
        raise _parameters_error("id and phone lists do not pair up")
    level = _choice(params.get("all"), "all", (0, 1, 2))
    delete = _choice(params.get("del"), "del", (0, 1)) == 1
    if delete and multi:
        raise _parameters_error("del=1 takes one message")
    return StatusQuery(tuple(zip(ids, phones, strict=True)), multi, level, delete)


def _items(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    while items and not items[-1]:
        items.pop()
    if "" in items:
        raise _parameters_error("empty item in a list")
    return items


def _choice(text: str, name: str, allowed: tuple[int, ...]) -> int:
    value = text.strip() or "0"
    if not value.isascii() or not value.isdigit() or int(value) not in allowed:
        raise _parameters_error(f"{name} must be one of {allowed}")
    return int(value)


def _parameters_error(detail: str) -> RequestError:
    return RequestError(RequestErrorCode.PARAMETERS, detail)


def _same_fingerprint(key: MessageKey) -> str:
    """Requests for one message count together whatever their other parameters (§1.7)."""
    return request_fingerprint(PATH, {"id": key.client_id, "phone": key.recipient})


def reply_id(client_id: str) -> int | str:
    """The id as written back: a number when numeric, else the client's string (http-api.md §1.4).

    ``client_id`` is a lookup key's, so numeric ids have no leading zeros.
    """
    return int(client_id) if client_id.isascii() and client_id.isdigit() else client_id


async def handle(ctx: CompatContext) -> Reply:
    """Validation (1), then the rate limits (9), then the lookup or the deletion (5)."""
    query = parse_query(ctx.params)
    keys = [message_key(client_id, phone) for client_id, phone in query.pairs]
    limits = ctx.services.settings.limits
    if query.multi:
        await ctx.limit(limits.status_bulk, fingerprint=_BULK_FINGERPRINT)
    else:
        await ctx.limit(limits.status_same, fingerprint=_same_fingerprint(keys[0]))
    statuses = ctx.services.statuses
    if query.delete:
        if await statuses.delete(ctx.account.id, keys[0]) is None:
            raise RequestError(
                RequestErrorCode.INVALID_DATE, "no such message", description=_DELETE_ERROR
            )
        return OkReply()
    records = await statuses.lookup(ctx.account.id, keys)
    tz = ctx.account.tz_minutes
    entries = [
        StatusEntry(
            reply_id(key.client_id),
            key.recipient,
            record is not None and record.msg_type == MessageType.HLR,
            status_values(record, key.recipient, tz),
        )
        for key, record in zip(keys, records, strict=True)
    ]
    return StatusReply(entries, query.level, query.multi)


def status_values(
    record: MessageRecord | None, recipient: str, tz_minutes: int
) -> dict[str, Value]:
    """Every field of one message at ``all=2``, dates in the account's zone (http-api.md §1.4).

    ``None`` is an unknown message: status -3, err 0, empty dates, timestamps 0 (http-api.md §3).
    """
    if record is None:
        return {
            **dict.fromkeys(_LEVEL0 + _LEVEL1 + _LEVEL2),
            "status": int(MessageStatus.NOT_FOUND),
            "status_name": MessageStatus.NOT_FOUND.status_name,
            **dict.fromkeys(("last_timestamp", "flag", "err", "send_timestamp"), 0),
            **dict.fromkeys(("type", "sms_cnt"), 0),
            "cost": Decimal(0),
            "phone": recipient,
        }
    hlr = record.msg_type == MessageType.HLR
    return {
        "status": record.status,
        "last_date": format_date(record.updated_at, tz_minutes),
        "last_timestamp": math.floor(record.updated_at),
        "flag": record.msg_type & 0x0F,  # codes.md §4.2: bits 0-3; other flags are not stored
        "err": record.err,
        **_hlr_values(record.hlr),
        "send_date": format_date(record.created_at, tz_minutes),
        "send_timestamp": math.floor(record.created_at),
        "phone": record.phone,
        "cost": record.cost,
        "sender_id": "HLR" if hlr else record.sender,
        "status_name": _STATUS_NAMES.get(record.status, ""),
        "message": record.text,
        "comment": record.comment,
        "type": record.msg_type,
        "sms_cnt": record.parts,
        "country": record.country,
        "operator": record.operator,
        "operator_orig": record.operator_orig,
        "region": record.region,
        "mccmnc": record.mccmnc,
    }


def _hlr_values(stored: str | None) -> dict[str, str | None]:
    answer: dict[str, object] = json.loads(stored) if stored else {}
    return {name: str(answer[name]) if name in answer else None for name in HLR_FIELDS}


def field_names(level: int, hlr: bool) -> tuple[str, ...]:
    """The fmt 2/3 fields of one message, in order (http-api.md §3)."""
    names = _LEVEL0 + (HLR_FIELDS if hlr else ())
    if level >= 1:
        names += _LEVEL1
    if level == 2:
        names += _LEVEL2
    return names


def text_layout(fmt: int, level: int, hlr: bool) -> Layout:
    """The fmt 0/1 single-message layout (http-api.md §3 table; HLR values follow ``err``)."""
    if fmt == 0:
        head = (("Status", "status"), ("check_time", "last_date"), ("err", "err"))
    else:
        head = (("status", "status"), ("last_timestamp", "last_timestamp"), ("err", "err"))
    layout = head + tuple((name, name) for name in HLR_FIELDS if hlr)
    if level == 0:
        return layout
    sent = "send_date" if fmt == 0 else "send_timestamp"
    middle = (sent, "phone", "cost") + (("country", "operator", "region") if level == 2 else ())
    return layout + tuple((name, name) for name in middle + _TAIL)


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One answered pair: the id and recipient written back, and the message's fields."""

    id: int | str
    phone: str
    hlr: bool
    values: Mapping[str, Value]

    def record(self, level: int) -> Record:
        return [(name, self.values[name]) for name in field_names(level, self.hlr)]


@dataclass(frozen=True, slots=True)
class StatusReply:
    """Single and multi layouts of http-api.md §3 in fmt 0/1/2/3."""

    entries: Sequence[StatusEntry]
    level: int
    multi: bool

    def render(self, fmt: int) -> str:
        if self.multi:
            return self._render_multi(fmt)
        entry = self.entries[0]
        if fmt == 2:
            fields = "".join(xml_element(name, value) for name, value in entry.record(self.level))
            return f"<sms>{fields}</sms>"
        if fmt == 3:
            return to_json({name: json_value(value) for name, value in entry.record(self.level)})
        return self._text_line(entry, fmt, escape=False)

    def _render_multi(self, fmt: int) -> str:
        """fmt 0/1: one line per pair led by the id and phone; fmt 2/3: a list of records that
        start with ``id`` and ``phone`` (``phone`` not repeated). A smsgate definition."""
        if fmt in (2, 3):
            records = [
                [("id", entry.id), ("phone", entry.phone)]
                + [(name, value) for name, value in entry.record(self.level) if name != "phone"]
                for entry in self.entries
            ]
            return ListReply(records, item="sms").render(fmt)
        lines = []
        for entry in self.entries:
            lead = (str(entry.id), entry.phone)
            prefix = "id = {}, phone = {}, " if fmt == 0 else "{},{},"
            lines.append(
                prefix.format(*(one_line(part) for part in lead))
                + self._text_line(entry, fmt, escape=True)
            )
        return "\n".join(lines)

    def _text_line(self, entry: StatusEntry, fmt: int, *, escape: bool) -> str:
        layout = text_layout(fmt, self.level, entry.hlr)
        texts = [(label, text_value(entry.values[name])) for label, name in layout]
        if escape:
            texts = [(label, one_line(text)) for label, text in texts]
        if fmt == 1:
            return ",".join(text for _, text in texts)
        return ", ".join(f"{label} = {text}" for label, text in texts)
