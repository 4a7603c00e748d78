"""Message text pieces shared by every ingress: prefixes, comments, binary and push payloads, length.

Rules come from protocols.md §1.2 (prefixes), §1.3 (comments), §1.4 (binary messages) and
http-api.md §2.1/§2.3 (``mes`` length, push payload size). Every rejection raises :class:`TextError`,
which carries request error 1 (codes.md §1.1); each ingress maps it to its own reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, IntEnum

from smsgate.domain.codes import MessageType, RequestErrorCode

MES_MAX_CHARS = 1000
"""``mes`` limit after prefix and comment removal (http-api.md §2.1)."""
MAIL_MAX_CHARS = 65536
"""``mes`` limit for ``mail=1`` (http-api.md §2.1)."""
COMMENT_MAX_CHARS = 1000
"""Stored comment length; longer comments are truncated (protocols.md §1.3)."""
BIN_MAX_OCTETS = 140
"""UDH + payload of a binary message (protocols.md §1.4)."""
PUSH_MAX_BYTES = 120
"""URL + title of a WAP push, in UTF-8 bytes (http-api.md §2.3)."""
DEFAULT_PID = 0x00
DEFAULT_DCS = 0x04
"""TP-PID and TP-DCS of a binary message without ``pid:``/``dcs:`` (protocols.md §1.4)."""


class TextError(ValueError):
    """The message text breaks a rule; always request error 1 ("parameters error", codes.md §1.1)."""

    code = RequestErrorCode.PARAMETERS


class MessagePrefix(Enum):
    """A type-selecting prefix at the very start of ``mes`` (protocols.md §1.2)."""

    message_type: MessageType

    def __new__(cls, value: str, message_type: MessageType) -> MessagePrefix:
        member = object.__new__(cls)
        member._value_ = value
        member.message_type = message_type
        return member

    HLR = ("__HLR__", MessageType.HLR)
    PING = ("__PING__", MessageType.PING)
    CALL = ("__CALL__", MessageType.CALL)
    VIBER = ("__VIBER__", MessageType.VIBER)
    SOC = ("__SOC__", MessageType.SOC)
    MAIL = ("__MAIL__", MessageType.MAIL)
    TG = ("__TG__", MessageType.TG)


VOICE_CODE_REQUEST = "code"
"""The whole text after ``__CALL__`` that asks for a voice code (protocols.md §1.2, http-api.md §2.9)."""


class BinMode(IntEnum):
    """The ``bin`` parameter: 1 raw octets, 2 hexadecimal (protocols.md §1.4)."""

    RAW = 1
    HEX = 2


@dataclass(frozen=True, slots=True)
class BinaryPayload:
    """A binary SMS as it goes on the wire (protocols.md §1.4).

    ``udh`` is the User Data Header as given, starting with its length octet (empty when the first
    octet was ``00``); a non-empty ``udh`` sets TP-UDHI. ``comment`` is the text after ``~~~`` when
    it was not a ``pid:``/``dcs:`` setting (truncated to 1000 characters), else None.
    """

    udh: bytes
    payload: bytes
    pid: int = DEFAULT_PID
    dcs: int = DEFAULT_DCS
    comment: str | None = None

    @property
    def udhi(self) -> bool:
        """TP-UDHI: the user data starts with a header."""
        return bool(self.udh)


@dataclass(frozen=True, slots=True)
class PidDcs:
    """TP-PID and TP-DCS of a binary message (protocols.md §1.4)."""

    pid: int = DEFAULT_PID
    dcs: int = DEFAULT_DCS


@dataclass(frozen=True, slots=True)
class PushPayload:
    """A WAP Push Service Indication: the URL to open and the title shown (protocols.md §1.1)."""

    url: str
    title: str


# ---------------------------------------------------------------------------------------------------
# Prefixes (protocols.md §1.2)


def split_prefix(mes: str) -> tuple[MessageType | None, str]:
    """The type selected by a prefix at the very start of ``mes``, and the text without it.

    Case-sensitive, nothing may precede it (not even whitespace), and only one prefix is taken: a
    second one stays in the text. Without a prefix the result is ``(None, mes)`` (protocols.md §1.2).
    """
    for prefix in MessagePrefix:
        if mes.startswith(prefix.value):
            return prefix.message_type, mes[len(prefix.value) :]
    return None, mes


def split_mail_subject(text: str) -> tuple[str, str]:
    """``(subject, body)`` for ``__MAIL__`` without ``subj``: the first line is the subject.

    The line may end in LF or CRLF; a text of one line is all subject with an empty body
    (protocols.md §1.2, smsgate definition).
    """
    return _first_line(text)


def is_voice_code_request(text: str) -> bool:
    """True when the text after ``__CALL__`` is exactly ``code`` (protocols.md §1.2)."""
    return text == VOICE_CODE_REQUEST


# ---------------------------------------------------------------------------------------------------
# Comments (protocols.md §1.3)

# The first line that is exactly "~~~", with the line break before it (if any) and after it (if any).
_SEPARATOR = re.compile(r"(?:\A|\r?\n)~~~(?:\r?\n|\Z)")


def split_comment(mes: str) -> tuple[str, str | None]:
    """Split ``mes`` at its first line that is exactly ``~~~`` (LF or CRLF line ends).

    Returns the text before the separator without the line break preceding it, and the comment after
    it without the line break following it, truncated to 1000 characters. The comment is None when
    there is no separator and ``""`` when the separator is the last line (protocols.md §1.3). For
    ``bin=1`` octets, split ``raw.decode("latin-1")`` and encode the text back with latin-1.
    """
    match = _SEPARATOR.search(mes)
    if match is None:
        return mes, None
    return mes[: match.start()], truncate_comment(mes[match.end() :])


def truncate_comment(comment: str) -> str:
    """The comment as stored: at most 1000 characters (protocols.md §1.3, smsgate definition)."""
    return comment[:COMMENT_MAX_CHARS]


# ---------------------------------------------------------------------------------------------------
# Length rules (http-api.md §2.1, protocols.md §1.3)


def check_mes_length(text: str, *, mail: bool = False) -> None:
    """Reject text over 1000 characters (65 536 for ``mail=1``), counted after prefix and comment
    removal (http-api.md §2.1)."""
    limit = MAIL_MAX_CHARS if mail else MES_MAX_CHARS
    if len(text) > limit:
        raise TextError(f"message is {len(text)} characters, more than {limit}")


def check_not_empty(text: str) -> None:
    """Reject an empty message text, e.g. one that is empty after the comment split (protocols.md §1.3)."""
    if not text:
        raise TextError("message text is empty")


# ---------------------------------------------------------------------------------------------------
# Binary messages (protocols.md §1.4)

_PID_DCS_ITEM = re.compile(r"\s*(pid|dcs)\s*:\s*(\S*)\s*", re.IGNORECASE)
_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_HEX_DIGITS = re.compile(rb"[0-9a-fA-F]*")
_WHITESPACE = re.compile(rb"\s+")


def parse_bin(raw: bytes, mode: int, pid_dcs: str | None) -> BinaryPayload:
    """Octets, UDH, TP-PID and TP-DCS of a binary message (protocols.md §1.4).

    ``raw`` is the text before ``~~~``: the octets themselves for ``bin=1``, hex for ``bin=2`` (case
    insensitive, whitespace anywhere ignored; odd length or a non-hex digit is an error). The first
    octet is the UDH length: non-zero keeps that many following octets as the UDH (with the length
    octet), ``00`` is dropped. UDH + payload must be at most 140 octets and not empty. ``pid_dcs`` is
    the text after ``~~~``: a ``pid: X, dcs: Y`` setting (see :func:`parse_pid_dcs`) or a comment.
    """
    udh, payload = _split_udh(_bin_octets(raw, mode))
    if not udh and not payload:  # "00" alone: the length octet dropped, nothing left to send
        raise TextError("no octets to send")
    if len(udh) + len(payload) > BIN_MAX_OCTETS:
        raise TextError(f"UDH + payload is {len(udh) + len(payload)} octets, more than 140")
    if pid_dcs is None:
        return BinaryPayload(udh, payload)
    setting = parse_pid_dcs(pid_dcs)
    if setting is None:
        return BinaryPayload(udh, payload, comment=truncate_comment(pid_dcs))
    return BinaryPayload(udh, payload, setting.pid, setting.dcs)


def parse_pid_dcs(text: str) -> PidDcs | None:
    """The ``pid: X, dcs: Y`` setting after ``~~~``, or None when the text is a comment instead.

    The text is a setting when it is one or two comma-separated ``key: value`` items with keys
    ``pid``/``dcs`` (any case, either order, either omitted). Then each value must be decimal or
    ``0x`` hex in 0..255 and each key may appear once, else :class:`TextError` (protocols.md §1.4).
    """
    items = _pid_dcs_items(text)
    if items is None:
        return None
    values: dict[str, int] = {}
    for key, value in items:
        if key in values:
            raise TextError(f"{key} is given twice")
        values[key] = _parse_octet(key, value)
    return PidDcs(values.get("pid", DEFAULT_PID), values.get("dcs", DEFAULT_DCS))


def _pid_dcs_items(text: str) -> list[tuple[str, str]] | None:
    """``[(key, value), …]`` with lowercase keys, or None when ``text`` does not have that shape."""
    items = []
    for item in text.split(","):
        match = _PID_DCS_ITEM.fullmatch(item)
        if match is None:
            return None
        items.append((match.group(1).lower(), match.group(2)))
    return items if len(items) <= 2 else None


def _split_udh(octets: bytes) -> tuple[bytes, bytes]:
    """``(udh, payload)``: the first octet is the UDH length; ``00`` means no UDH and is dropped."""
    if not octets:
        raise TextError("binary message is empty")
    header_length = octets[0]
    if header_length == 0:
        return b"", octets[1:]
    if len(octets) < 1 + header_length:
        raise TextError(f"UDH length {header_length} exceeds the {len(octets) - 1} octets given")
    return octets[: 1 + header_length], octets[1 + header_length :]


def _parse_octet(key: str, value: str) -> int:
    if _DECIMAL.fullmatch(value):
        number = int(value, 10)
    elif _HEX.fullmatch(value):
        number = int(value[2:], 16)
    else:
        raise TextError(f"{key} must be decimal or 0x hex, got {value!r}")
    if number > 0xFF:
        raise TextError(f"{key} must be 0..255, got {value!r}")
    return number


def _bin_octets(raw: bytes, mode: int) -> bytes:
    if mode == BinMode.RAW:
        return raw
    if mode != BinMode.HEX:
        raise TextError(f"bin must be 1 or 2, got {mode}")
    digits = _WHITESPACE.sub(b"", raw)
    if not _HEX_DIGITS.fullmatch(digits):
        raise TextError("bin=2 text is not hexadecimal")
    if len(digits) % 2:
        raise TextError("bin=2 text has an odd number of hex digits")
    return bytes.fromhex(digits.decode("ascii"))


# ---------------------------------------------------------------------------------------------------
# WAP push (protocols.md §1.1, http-api.md §2.3)


def parse_push(mes: str) -> PushPayload:
    """URL and title of a WAP push from ``<URL>\\n<title>`` (protocols.md §1.1, http-api.md §2.3).

    The first line (LF or CRLF) is the URL, which must be non-empty and contain no whitespace; the
    rest is the title, which may be empty. URL + title must be at most 120 UTF-8 bytes.
    """
    url, title = _first_line(mes)
    if not url or any(char.isspace() for char in url):
        raise TextError("push message must start with a URL line")
    size = len(url.encode("utf-8")) + len(title.encode("utf-8"))
    if size > PUSH_MAX_BYTES:
        raise TextError(f"push URL + title is {size} UTF-8 bytes, more than 120")
    return PushPayload(url, title)


def _first_line(text: str) -> tuple[str, str]:
    """``(first line, rest)``; the line break (LF or CRLF) belongs to neither."""
    line, _, rest = text.partition("\n")
    return line.removesuffix("\r"), rest
