"""GSM 03.38 (3GPP TS 23.038 §6.2.1) default alphabet and its extension table.

The tables are written out by hand below; nothing is registered with :mod:`codecs` (style guide §2.7:
no process-global state). Encoding here means *unpacked* septets, one septet per octet, which is what
SMPP ``data_coding`` 0x00 carries (protocols.md §3.5). A character of the extension table is written as
ESC (0x1B) followed by its code, so it costs two septets (http-api.md §2.3: ``^ { } \\ [ ~ ] | €`` and
form feed count as 2).
"""

from __future__ import annotations

from types import MappingProxyType

ESC = 0x1B
"""The escape septet that introduces a character of the extension table."""

# The basic table, septet 0x00 at the start, sixteen septets per line. Position 0x1B is ESC, not a
# character; its placeholder is excluded from the mappings below. Greek capitals are written as
# escapes so that no look-alike Latin letter can slip in.
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00-0x0F
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1bÆæßÉ"  # 0x10-0x1F
    " !\"#¤%&'()*+,-./"  # 0x20-0x2F
    "0123456789:;<=>?"  # 0x30-0x3F
    "¡ABCDEFGHIJKLMNO"  # 0x40-0x4F
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50-0x5F
    "¿abcdefghijklmno"  # 0x60-0x6F
    "pqrstuvwxyzäöñüà"  # 0x70-0x7F
)

BASIC_CHARS: MappingProxyType[str, int] = MappingProxyType(
    {char: code for code, char in enumerate(_BASIC_TABLE) if code != ESC}
)
"""Character → septet for the default alphabet (127 characters; 0x1B is ESC)."""

EXTENSION_CHARS: MappingProxyType[str, int] = MappingProxyType(
    {
        "\f": 0x0A,  # form feed (page break)
        "^": 0x14,
        "{": 0x28,
        "}": 0x29,
        "\\": 0x2F,
        "[": 0x3C,
        "~": 0x3D,
        "]": 0x3E,
        "|": 0x40,
        "€": 0x65,
    }
)
"""Character → septet after ESC for the default extension table (TS 23.038 §6.2.1.1)."""

GSM7_CHARS: frozenset[str] = frozenset(BASIC_CHARS) | frozenset(EXTENSION_CHARS)
"""Every character that GSM-7 can carry."""

_BASIC_BY_CODE: MappingProxyType[int, str] = MappingProxyType(
    {code: char for char, code in BASIC_CHARS.items()}
)
_EXTENSION_BY_CODE: MappingProxyType[int, str] = MappingProxyType(
    {code: char for char, code in EXTENSION_CHARS.items()}
)


class Gsm7Error(ValueError):
    """Text that GSM-7 cannot carry, or octets that are not septets."""


def is_gsm7(text: str) -> bool:
    """True when every character is in the default alphabet or its extension table (http-api.md §2.3).

    The empty text is GSM-7. The control character ESC itself is not a character of the alphabet.
    """
    return GSM7_CHARS.issuperset(text)


def septet_length(text: str) -> int:
    """Number of septets ``text`` takes: 1 per basic character, 2 per extension character.

    Raises :class:`Gsm7Error` when a character is not in the alphabet (http-api.md §2.3).
    """
    _check_gsm7(text)
    return len(text) + sum(1 for char in text if char in EXTENSION_CHARS)


def encode_gsm7(text: str) -> bytes:
    """Unpacked septets for ``text``: one septet per octet, ESC 0x1B before extension characters.

    ``len(encode_gsm7(t)) == septet_length(t)``. Raises :class:`Gsm7Error` naming the first
    character that GSM-7 cannot carry.
    """
    _check_gsm7(text)
    out = bytearray()
    for char in text:
        code = BASIC_CHARS.get(char)
        if code is None:
            out.append(ESC)
            code = EXTENSION_CHARS[char]
        out.append(code)
    return bytes(out)


def decode_gsm7(septets: bytes) -> str:
    """Text for unpacked septets (one per octet); the inverse of :func:`encode_gsm7`.

    Octets above 0x7F raise :class:`Gsm7Error`. Escapes that name no extension character follow
    TS 23.038 §6.2.1.1: ESC + code shows the basic character of that code, ESC ESC (reserved for a
    further extension table) shows a space, and a lone ESC at the very end is dropped.
    """
    out: list[str] = []
    escaped = False
    for index, code in enumerate(septets):
        if code > 0x7F:
            raise Gsm7Error(f"octet 0x{code:02X} at {index} is not a septet")
        if escaped:
            out.append(_decode_escaped(code))
            escaped = False
        elif code == ESC:
            escaped = True
        else:
            out.append(_BASIC_BY_CODE[code])
    return "".join(out)


def _decode_escaped(code: int) -> str:
    if code == ESC:
        return " "
    return _EXTENSION_BY_CODE.get(code) or _BASIC_BY_CODE[code]


def _check_gsm7(text: str) -> None:
    if is_gsm7(text):
        return
    index, char = next((i, c) for i, c in enumerate(text) if c not in GSM7_CHARS)
    raise Gsm7Error(f"character U+{ord(char):04X} at {index} is not in the GSM 03.38 alphabet")
