"""Request parameters of the compatible API: merged from query and body, decoded by charset.

http-api.md §1.1 and §1.3: query and body are equivalent and merged (a body value wins; within one
source the last occurrence wins). Values are percent-decoded to bytes first and decoded as text only
once the charset is known: the request's ``charset`` when given, otherwise UTF-8 when every value is
valid UTF-8 and windows-1251 when not. A multipart part that declares its own charset uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import MultipartParser, parse_options_header

from smsgate.domain.codes import RequestErrorCode
from smsgate.errors import RequestError

CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "windows-1251": "windows-1251",
    "cp1251": "windows-1251",
    "koi8-r": "koi8-r",
    "koi8r": "koi8-r",
}
DEFAULT_RESPONSE_CHARSET = "utf-8"
# Longest value of an ordinary parameter; endpoints name the few that may be longer (recipient lists,
# texts). A megabyte of "login" is an error 1, not a reason to hash a megabyte.
MAX_VALUE_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class RawParams:
    """Percent-decoded parameters before charset decoding."""

    values: dict[str, bytes] = field(default_factory=dict)
    # Parts of a multipart body that declared their own charset.
    part_charsets: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def merge(self, pairs: Iterable[tuple[str, bytes]]) -> None:
        for name, value in pairs:
            self.values[name] = value


@dataclass(frozen=True, slots=True)
class Params:
    """Decoded parameters, the charset they were read in, and the raw bytes (for ``bin=1``)."""

    values: Mapping[str, str]
    raw: Mapping[str, bytes]
    files: tuple[UploadedFile, ...]
    charset: str
    response_charset: str

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)


def parse_urlencoded(data: bytes) -> list[tuple[str, bytes]]:
    """``a=1&b=%D0%BF`` → ``[("a", b"1"), ("b", b"\\xd0\\xbf")]``; names are ASCII-decoded."""
    pairs = []
    for chunk in data.split(b"&"):
        if not chunk:
            continue
        name, _, value = chunk.partition(b"=")
        name_bytes = unquote_to_bytes(name.replace(b"+", b" "))
        pairs.append((name_bytes.decode("latin-1"), unquote_to_bytes(value.replace(b"+", b" "))))
    return pairs


def parse_multipart(body: bytes, boundary: bytes, into: RawParams) -> None:
    """Fields and files of a ``multipart/form-data`` body; error 1 when it is malformed."""
    parts: list[tuple[dict[bytes, bytes], bytearray]] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        parts.append(({}, bytearray()))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1][0][bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # python-multipart raises several types for malformed bodies
        raise RequestError(RequestErrorCode.PARAMETERS, "malformed multipart body") from exc
    for headers, data in parts:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if not name:
            continue
        content_type, options = parse_options_header(headers.get(b"content-type", b""))
        if b"filename" in disposition:
            into.files.append(
                UploadedFile(
                    field=name,
                    filename=disposition[b"filename"].decode("utf-8", "replace"),
                    content_type=content_type.decode("latin-1") or "application/octet-stream",
                    data=bytes(data),
                )
            )
            continue
        into.values[name] = bytes(data)
        declared = CHARSETS.get(options.get(b"charset", b"").decode("latin-1").lower())
        if declared:
            into.part_charsets[name] = declared


def decode_params(
    raw: RawParams, *, large: frozenset[str] = frozenset(), max_value: int = MAX_VALUE_BYTES
) -> Params:
    """Choose the charset and decode every value (http-api.md §1.3); error 1 on bad input."""
    for name, value in raw.values.items():
        if len(value) > max_value and name not in large:
            raise RequestError(RequestErrorCode.PARAMETERS, f"parameter {name!r} is too long")
    # bin=1: "the percent-decoded bytes of mes are used as octets, bypassing charset decoding"
    # (protocols.md §1.4); they are read back from ``raw``, so here they only must not fail.
    octets = {"mes"} if raw.values.get("bin", b"").strip() == b"1" else set()
    charset_param = raw.values.get("charset", b"").decode("latin-1").strip().lower()
    if charset_param:
        charset = CHARSETS.get(charset_param)
        if charset is None:
            raise RequestError(RequestErrorCode.PARAMETERS, "unknown charset")
        response_charset = charset
    else:
        charset = "utf-8" if _all_utf8(raw, octets) else "windows-1251"
        response_charset = DEFAULT_RESPONSE_CHARSET
    values: dict[str, str] = {}
    for name, value in raw.values.items():
        encoding = "latin-1" if name in octets else raw.part_charsets.get(name, charset)
        try:
            values[name] = value.decode(encoding)
        except UnicodeDecodeError:
            raise RequestError(
                RequestErrorCode.PARAMETERS, f"parameter {name!r} is not valid {encoding}"
            ) from None
    return Params(
        values=values,
        raw=dict(raw.values),
        files=tuple(raw.files),
        charset=charset,
        response_charset=response_charset,
    )


def _all_utf8(raw: RawParams, octets: set[str]) -> bool:
    for name, value in raw.values.items():
        if name in raw.part_charsets or name in octets:
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True
