"""Text ↔ short_message octets by data_coding (SMPP 3.4 §5.2.19, 3GPP TS 23.038 §4).

:func:`alphabet_of` reads a data_coding value: 0x00 GSM 03.38 default alphabet (unpacked, one septet
per octet), 0x01 IA5/ASCII, 0x03 Latin-1, 0x08 UCS-2, 0x02/0x04 octets; the TS 23.038 groups 0x10–0x1F
(with message class), 0xC0–0xEF (message waiting) and 0xF0–0xFF resolve the same way. Anything else
(compressed, Cyrillic, JIS …) raises ``SmppError(ESME_RINVDCS)``. Session-level overrides, such as
smsgate reading 0x00 as Latin-1 for ``system_type`` ``ISO`` and 0x04 as Latin-1 text
(protocols.md §3.5), are the caller's choice of :class:`Alphabet`.

UCS-2 is read and written as UTF-16BE, so characters beyond the BMP travel as surrogate pairs.
GSM-7 uses the tables of ``domain/gsm7.py``; text without escapes goes through a C charmap, not a Python
loop. Octets that do not decode raise ``SmppError(ESME_RINVMSGLEN)``; text an alphabet cannot carry
raises :class:`TextCodingError`.
"""

from __future__ import annotations

import codecs
from enum import Enum

from smsgate.domain.gsm7 import BASIC_CHARS, ESC, Gsm7Error, decode_gsm7, encode_gsm7, is_gsm7
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError

_UNDEFINED = "\ufffe"  # charmap's marker for an octet that has no character


class Alphabet(Enum):
    GSM7 = "gsm7"
    ASCII = "ascii"
    LATIN1 = "latin1"
    UCS2 = "ucs2"
    BINARY = "binary"


class TextCodingError(ValueError):
    """Text that the chosen alphabet cannot carry."""


_SMPP_GROUP = {
    0x00: Alphabet.GSM7,
    0x01: Alphabet.ASCII,
    0x02: Alphabet.BINARY,
    0x03: Alphabet.LATIN1,
    0x04: Alphabet.BINARY,
    0x08: Alphabet.UCS2,
}
_GENERAL_GROUP = (Alphabet.GSM7, Alphabet.BINARY, Alphabet.UCS2, None)  # bits 3..2 of 0x1X


def alphabet_of(data_coding: int) -> Alphabet:
    """The alphabet of ``data_coding``; an unsupported value → ``SmppError(ESME_RINVDCS)``."""
    alphabet: Alphabet | None
    if data_coding < 0x10:
        alphabet = _SMPP_GROUP.get(data_coding)
    elif data_coding < 0x20:
        alphabet = _GENERAL_GROUP[(data_coding >> 2) & 0x03]
    elif 0xC0 <= data_coding < 0xE0:
        alphabet = Alphabet.GSM7
    elif 0xE0 <= data_coding < 0xF0:
        alphabet = Alphabet.UCS2
    elif data_coding >= 0xF0:
        alphabet = Alphabet.BINARY if data_coding & 0x04 else Alphabet.GSM7
    else:
        alphabet = None
    if alphabet is None:
        raise SmppError(CommandStatus.ESME_RINVDCS, f"data_coding 0x{data_coding:02X}")
    return alphabet


def message_class(data_coding: int) -> int | None:
    """TS 23.038 message class (0 = flash) of ``data_coding``, or ``None`` when it names none."""
    if 0x10 <= data_coding < 0x20 or data_coding >= 0xF0:
        return data_coding & 0x03
    return None


_GSM7_DECODING = "".join(
    {code: char for char, code in BASIC_CHARS.items()}.get(octet, _UNDEFINED)
    for octet in range(256)
)
_GSM7_ENCODING = codecs.charmap_build(_GSM7_DECODING)


def decode_text(octets: bytes, alphabet: Alphabet) -> str:
    """The text ``octets`` carry in ``alphabet`` (not for :attr:`Alphabet.BINARY`)."""
    try:
        if alphabet is Alphabet.GSM7:
            if ESC in octets:
                return decode_gsm7(octets)
            return codecs.charmap_decode(octets, "strict", _GSM7_DECODING)[0]
        if alphabet is Alphabet.UCS2:
            return octets.decode("utf-16-be")
        if alphabet is Alphabet.BINARY:
            raise ValueError("binary octets carry no text")
        # IA5 is read as Latin-1 too: some clients put Latin-1 letters in it (protocols.md §3.5).
        return octets.decode("latin-1")
    except (UnicodeDecodeError, Gsm7Error) as exc:
        raise SmppError(CommandStatus.ESME_RINVMSGLEN, f"not {alphabet.value} text: {exc}") from exc


def encode_text(text: str, alphabet: Alphabet) -> bytes:
    """The octets of ``text`` in ``alphabet``; raises :class:`TextCodingError` when it cannot."""
    try:
        if alphabet is Alphabet.GSM7:
            try:
                return codecs.charmap_encode(text, "strict", _GSM7_ENCODING)[0]
            except UnicodeEncodeError:
                return encode_gsm7(text)  # extension characters (ESC …) or a real refusal
        if alphabet is Alphabet.UCS2:
            return text.encode("utf-16-be")
        if alphabet is Alphabet.ASCII:
            return text.encode("ascii")
        if alphabet is Alphabet.LATIN1:
            return text.encode("latin-1")
    except (UnicodeEncodeError, Gsm7Error) as exc:
        raise TextCodingError(f"{alphabet.value} cannot carry the text: {exc}") from exc
    raise TextCodingError("binary messages carry octets, not text")


def best_alphabet(text: str) -> Alphabet:
    """GSM-7 when every character fits it, else UCS-2 (http-api.md §2.3)."""
    return Alphabet.GSM7 if is_gsm7(text) else Alphabet.UCS2
