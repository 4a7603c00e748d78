"""Cyrillic to Latin conversion for ``translit=1`` and ``translit=2`` (http-api.md §2.3).

Both tables are smsgate definitions and are copied from the spec exactly. Characters that a table does
not list pass through unchanged, so the result may still need UCS-2 (e.g. ``і`` under mode 2).
"""

from __future__ import annotations

from enum import IntEnum
from types import MappingProxyType


class TranslitMode(IntEnum):
    """The ``translit`` parameter (http-api.md §2.1)."""

    NONE = 0
    TRANSLIT = 1
    LOOKALIKE = 2


TRANSLIT_LOWER: MappingProxyType[str, str] = MappingProxyType(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
        "з": "z", "и": "i", "й": "j", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c",
        "ч": "ch", "ш": "sh", "щ": "sch", "ъ": '"', "ы": "y", "ь": "'", "э": "e", "ю": "yu",
        "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g",
    }
)  # fmt: skip
"""Mode 1, lowercase letters (http-api.md §2.3). A capital gives the capitalised result (Щ → Sch)."""

LOOKALIKE_LOWER: MappingProxyType[str, str] = MappingProxyType(
    {
        "а": "a", "б": "6", "в": "B", "г": "r", "д": "g", "е": "e", "ё": "e", "ж": ">|<",
        "з": "3", "и": "u", "й": "u", "к": "k", "л": "JI", "м": "M", "н": "H", "о": "o",
        "п": "n", "р": "p", "с": "c", "т": "m", "у": "y", "ф": "qp", "х": "x", "ц": "LL",
        "ч": "4", "ш": "LLI", "щ": "LLL", "ъ": "'b", "ы": "bI", "ь": "b", "э": "3", "ю": "IO",
        "я": "9I",
    }
)  # fmt: skip
"""Mode 2, lowercase letters (http-api.md §2.3)."""

LOOKALIKE_UPPER: MappingProxyType[str, str] = MappingProxyType(
    {
        "А": "A", "В": "B", "Д": "D", "Е": "E", "Ё": "E", "И": "U", "Й": "U", "К": "K",
        "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X",
    }
)  # fmt: skip
"""Mode 2, the capitals the spec lists; every other capital maps like its lowercase letter."""

# str.translate tables, keyed by code point. Built once from the constants above and never changed.
_TRANSLIT_TABLE: MappingProxyType[int, str] = MappingProxyType(
    {ord(low): latin for low, latin in TRANSLIT_LOWER.items()}
    | {ord(low.upper()): latin.capitalize() for low, latin in TRANSLIT_LOWER.items()}
)
_LOOKALIKE_TABLE: MappingProxyType[int, str] = MappingProxyType(
    {ord(low): latin for low, latin in LOOKALIKE_LOWER.items()}
    | {ord(low.upper()): latin for low, latin in LOOKALIKE_LOWER.items()}
    | {ord(cap): latin for cap, latin in LOOKALIKE_UPPER.items()}
)


def translit(text: str, mode: int) -> str:
    """``text`` converted by the ``translit`` mode: 0 unchanged, 1 transliteration, 2 look-alike Latin.

    Mode 1 capitals give the capitalised Latin (``Щ`` → ``Sch``, ``ЩИ`` → ``SchI``); mode 2 capitals
    use the capital table, or the lowercase mapping when the spec lists none (``Б`` → ``6``).
    Characters outside the table pass through. Raises ValueError for another mode (http-api.md §2.3).
    """
    match TranslitMode(mode):
        case TranslitMode.NONE:
            return text
        case TranslitMode.TRANSLIT:
            return text.translate(_TRANSLIT_TABLE)
        case TranslitMode.LOOKALIKE:
            return text.translate(_LOOKALIKE_TABLE)
