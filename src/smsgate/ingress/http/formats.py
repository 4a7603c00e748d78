"""Rendering of compatible-API replies in ``fmt`` 0/1/2/3 and the request charset (http-api.md §1.4–1.5).

A reply is an object with ``render(fmt) -> str``; :func:`encode` turns that text into the body in the
response charset: characters the charset cannot hold become ``?`` (fmt 0/1/3) or numeric character
references (fmt 2). Shared layouts (error envelope, OK, Created, List) live here; endpoints with a
layout of their own define a small reply class next to the endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from xml.sax.saxutils import escape

from smsgate.domain.money import display

Value = str | int | Decimal | None
Record = Sequence[tuple[str, Value]]

MEDIA_TYPES = {0: "text/plain", 1: "text/plain", 2: "text/xml", 3: "application/json"}
VALID_FMTS = frozenset(MEDIA_TYPES)


class Reply(Protocol):
    def render(self, fmt: int) -> str: ...


def text_value(value: Value) -> str:
    """A value as it appears in fmt 0/1/2: money with two decimals, None as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return display(value)
    return str(value)


def json_value(value: Value) -> str | int | None:
    """A value as JSON: money as a string, counts and codes as numbers."""
    if isinstance(value, Decimal):
        return display(value)
    if value is None:
        return ""
    return value


def to_json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def xml_element(name: str, value: Value) -> str:
    return f"<{name}>{escape(text_value(value))}</{name}>"


def one_line(value: str) -> str:
    """Multi-record fmt 0/1 bodies write a line break inside a value as the two characters ``\\n``."""
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """The error envelope; ``request_id`` is set for send.php errors 3, 6, 7, 8."""

    code: int
    description: str
    request_id: int | str | None = None

    def render(self, fmt: int) -> str:
        rid = self.request_id
        if isinstance(rid, str) and rid.isdigit():
            rid = int(rid)  # a numeric id is a number in JSON (http-api.md §1.4)
        if fmt == 1:
            return f"{rid if rid is not None else 0},-{self.code}"
        if fmt == 2:
            tail = xml_element("id", rid) if rid is not None else ""
            return (
                f"<result>{xml_element('error', self.description)}"
                f"{xml_element('error_code', self.code)}{tail}</result>"
            )
        if fmt == 3:
            data: dict[str, object] = {"error": self.description, "error_code": self.code}
            if rid is not None:
                data["id"] = rid
            return to_json(data)
        text = f"ERROR = {self.code} ({self.description})"
        return f"{text}, ID - {rid}" if rid is not None else text


@dataclass(frozen=True, slots=True)
class OkReply:
    def render(self, fmt: int) -> str:
        if fmt == 2:
            return "<result>OK</result>"
        if fmt == 3:
            return to_json({"result": "OK"})
        return "OK"


@dataclass(frozen=True, slots=True)
class CreatedReply:
    id: int | str

    def render(self, fmt: int) -> str:
        if fmt == 1:
            return str(self.id)
        if fmt == 2:
            return f"<result>{xml_element('id', self.id)}</result>"
        if fmt == 3:
            return to_json({"id": self.id})
        return f"OK, ID - {self.id}"


@dataclass(frozen=True, slots=True)
class ListReply:
    """Records in the List layout; ``item`` names each XML element (``item``, ``task``, ``sms``)."""

    records: Sequence[Record]
    item: str = "item"

    def render(self, fmt: int) -> str:
        if fmt == 2:
            items = (
                f"<{self.item}>{''.join(xml_element(k, v) for k, v in rec)}</{self.item}>"
                for rec in self.records
            )
            return f"<list>{''.join(items)}</list>"
        if fmt == 3:
            return to_json([{k: json_value(v) for k, v in rec} for rec in self.records])
        if not self.records:
            return "\n"
        if fmt == 1:
            lines = (",".join(one_line(text_value(v)) for _, v in rec) for rec in self.records)
        else:
            lines = (
                ", ".join(f"{k} = {one_line(text_value(v))}" for k, v in rec)
                for rec in self.records
            )
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class RecordReply:
    """One record: ``key = value, …`` (fmt 0), values (fmt 1), ``<result>`` (fmt 2), an object."""

    record: Record

    def render(self, fmt: int) -> str:
        if fmt == 3:
            return to_json({k: json_value(v) for k, v in self.record})
        if fmt == 2:
            return f"<result>{''.join(xml_element(k, v) for k, v in self.record)}</result>"
        if fmt == 1:
            return ",".join(text_value(v) for _, v in self.record)
        return ", ".join(f"{k} = {text_value(v)}" for k, v in self.record)


def encode(reply: Reply, fmt: int, charset: str) -> tuple[bytes, str]:
    """The body bytes and the Content-Type header of ``reply``."""
    text = reply.render(fmt)
    media_type = f"{MEDIA_TYPES[fmt]}; charset={charset}"
    if fmt == 2:
        document = f'<?xml version="1.0" encoding="{charset}"?>\n{text}'
        return document.encode(charset, "xmlcharrefreplace"), media_type
    return text.encode(charset, "replace"), media_type
