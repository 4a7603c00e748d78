"""Recipient lists of the SMSC API: phone numbers, contact groups and e-mail addresses.

Rules (spec/http-api.md §1.6, DESIGN.md "Numbers"):

- A list is split on ``,``, ``;`` and line breaks (``\\n``, ``\\r``); empty items are skipped.
- Inside a number, whitespace and ``-`` ``(`` ``)`` ``.`` are ignored.
- With a leading ``+`` the digits are taken as given. Without it smsgate auto-corrects: a ``00``
  prefix is dropped (it *is* the international prefix, so nothing else is corrected after it);
  ``8`` + 10 digits becomes ``7`` + 10 digits; 10 digits starting with ``9`` get ``7`` in front.
- A number is valid with 7–15 ASCII digits, a first digit other than ``0`` (no country code starts
  with 0) and a pass of the numbering-plan check (``NumberingPlan.is_valid``, or ``phonenumbers``
  through ``is_plausible`` when no plan is given). It is returned as digits without ``+``.
- ``G<n>`` (or ``g<n>``, at most 18 digits) names contact group ``n`` (§6); the caller expands it.
- The first occurrence of a number (or group, or invalid item) counts; later ones are reported as
  duplicates and sent nothing, so each number is sent once per request.

Stored numbers must be normalised again with a ``+`` in front: ``normalise("+" + n) == n`` always
holds, while ``normalise(n) == n`` fails for numbers the auto-correction reads as Russian — a
Vietnamese ``84912345678`` or a Maldives ``9607771234`` would become ``7…``, exactly as the rule
above reads them when a client sends them without ``+``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum

from smsgate.domain.numbering import MAX_DIGITS, MIN_DIGITS, is_plausible

MAX_GROUP_DIGITS = 18
MAX_EMAIL_LENGTH = 254
MAX_EMAIL_LOCAL_LENGTH = 64

_SEPARATORS = re.compile(r"[,;\r\n]")
_IGNORED = re.compile(r"[\s\-().]+")
_DIGITS = re.compile(r"[0-9]*")
_GROUP = re.compile(rf"[Gg]([0-9]{{1,{MAX_GROUP_DIGITS}}})")
_EMAIL_CHAR = r"[^@\s<>()\[\]\\,;:\"]"
_EMAIL = re.compile(rf"({_EMAIL_CHAR}+)@({_EMAIL_CHAR}+\.[^@\s<>()\[\]\\,;:\".]+)")
_RUSSIAN_TRUNK_LENGTH = 11
_RUSSIAN_NATIONAL_LENGTH = 10

NumberCheck = Callable[[str], bool]
"""The numbering-plan check: normalised digits → valid. Must not raise (``NumberingPlan.is_valid``)."""


class TokenKind(Enum):
    """What one item of a recipient list turned out to be."""

    VALID = "valid"  # a recipient, first occurrence; ``value`` is the number or address
    GROUP = "group"  # G<n>, first occurrence; ``value`` is n in decimal without leading zeros
    INVALID = "invalid"  # status 22, err 249 (spec/http-api.md §2.5)
    DUPLICATE = "duplicate"  # repeats an earlier item; ``value`` is that item's value


class InvalidReason(Enum):
    """Why an item is not a recipient."""

    CHARACTERS = "characters"  # something other than digits, ignored characters and a leading +
    LENGTH = "length"  # not 7–15 digits after auto-correction
    COUNTRY_CODE = "country_code"  # starts with 0 after auto-correction
    NUMBERING_PLAN = "numbering_plan"  # well-formed but not in the numbering plan
    ADDRESS = "address"  # not an e-mail address


class PhoneFormatError(ValueError):
    """A number that cannot be normalised; ``reason`` says why, ``digits`` what was left of it."""

    def __init__(self, raw: str, reason: InvalidReason, digits: str = "") -> None:
        super().__init__(f"invalid phone number {raw[:40]!r}: {reason.value}")
        self.raw = raw
        self.reason = reason
        self.digits = digits


@dataclass(frozen=True, slots=True)
class Token:
    """One item of a recipient list, in input order.

    ``raw`` is the item as written (surrounding whitespace stripped). ``value`` is the normalised
    number, the address, or the group number; for an invalid number, whatever digits could be made of
    it (possibly empty), so the rejection can be stored and reported against something readable.
    """

    raw: str
    kind: TokenKind
    value: str = ""
    reason: InvalidReason | None = None


@dataclass(frozen=True, slots=True)
class RecipientList:
    """The per-item outcome of parsing one list parameter."""

    tokens: tuple[Token, ...]

    @property
    def valid(self) -> tuple[str, ...]:
        """Distinct valid recipients in order of first occurrence."""
        return tuple(token.value for token in self.tokens if token.kind is TokenKind.VALID)

    @property
    def groups(self) -> tuple[int, ...]:
        """Distinct contact-group references in order of first occurrence."""
        return tuple(int(token.value) for token in self.tokens if token.kind is TokenKind.GROUP)

    @property
    def invalid(self) -> tuple[Token, ...]:
        """Distinct invalid items, each to be rejected with status 22 / err 249."""
        return tuple(token for token in self.tokens if token.kind is TokenKind.INVALID)


def split_list(text: str) -> Iterator[str]:
    """The non-empty items of a list, stripped, split on ``,`` ``;`` and line breaks (§1.6)."""
    for item in _SEPARATORS.split(text):
        stripped = item.strip()
        if stripped:
            yield stripped


def normalise(raw: str) -> str:
    """Digits of one number after the cleaning and auto-correction of §1.6, without ``+``.

    Checks form only (7–15 ASCII digits, no leading 0), not the numbering plan. Raises
    ``PhoneFormatError`` and nothing else.
    """
    cleaned = _IGNORED.sub("", raw)
    international = cleaned.startswith("+")
    digits = cleaned[1:] if international else cleaned
    if not _DIGITS.fullmatch(digits):
        raise PhoneFormatError(raw, InvalidReason.CHARACTERS)
    if not international:
        digits = _autocorrect(digits)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise PhoneFormatError(raw, InvalidReason.LENGTH, digits)
    if digits.startswith("0"):
        raise PhoneFormatError(raw, InvalidReason.COUNTRY_CODE, digits)
    return digits


def parse_phones(text: str, is_valid: NumberCheck = is_plausible) -> RecipientList:
    """Parse a ``phones`` parameter into per-item results (spec/http-api.md §1.6).

    ``is_valid`` is the numbering-plan check, normally ``NumberingPlan.is_valid``; it is called
    once per distinct well-formed number. Never raises for any ``text``.
    """
    verdicts: dict[str, bool] = {}

    def check(number: str) -> bool:
        if number not in verdicts:
            verdicts[number] = is_valid(number)
        return verdicts[number]

    tokens = (_phone_token(raw, check) for raw in split_list(text))
    return _deduplicated(tokens, lambda token: token.value or token.raw)


def parse_email_list(text: str) -> RecipientList:
    """Parse a list of mail recipients: addresses and ``G<n>`` groups, split as in §1.6.

    An address is ``local@domain`` with no whitespace, one ``@``, a dot inside the domain, at most 64
    characters before the ``@`` and 254 in all; the domain is lower-cased. Duplicates are found
    case-insensitively. Display-name forms (``Name <a@b.c>``) are not recognised. Never raises.
    """
    tokens = (_email_token(raw) for raw in split_list(text))
    return _deduplicated(tokens, lambda token: (token.value or token.raw).casefold())


def _deduplicated(tokens: Iterable[Token], key: Callable[[Token], str]) -> RecipientList:
    """Keep the first item of each kind and key; later ones become duplicates carrying its value."""
    first: dict[str, Token] = {}
    result = []
    for token in tokens:
        earlier = first.setdefault(f"{token.kind.value}:{key(token)}", token)
        if earlier is not token:
            token = Token(token.raw, TokenKind.DUPLICATE, earlier.value, earlier.reason)
        result.append(token)
    return RecipientList(tuple(result))


def _autocorrect(digits: str) -> str:
    if digits.startswith("00"):
        return digits[2:]
    if len(digits) == _RUSSIAN_TRUNK_LENGTH and digits.startswith("8"):
        return "7" + digits[1:]
    if len(digits) == _RUSSIAN_NATIONAL_LENGTH and digits.startswith("9"):
        return "7" + digits
    return digits


def _group_token(raw: str) -> Token | None:
    if "G" not in raw and "g" not in raw:  # the common case, cheaply
        return None
    match = _GROUP.fullmatch(_IGNORED.sub("", raw))
    if match is None:
        return None
    return Token(raw, TokenKind.GROUP, str(int(match.group(1))))


def _phone_token(raw: str, is_valid: NumberCheck) -> Token:
    group = _group_token(raw)
    if group is not None:
        return group
    try:
        number = normalise(raw)
    except PhoneFormatError as exc:
        return Token(raw, TokenKind.INVALID, exc.digits, exc.reason)
    if not is_valid(number):
        return Token(raw, TokenKind.INVALID, number, InvalidReason.NUMBERING_PLAN)
    return Token(raw, TokenKind.VALID, number)


def _email_token(raw: str) -> Token:
    group = _group_token(raw)
    if group is not None:
        return group
    match = _EMAIL.fullmatch(raw) if len(raw) <= MAX_EMAIL_LENGTH else None
    if (
        match is None
        or len(match.group(1)) > MAX_EMAIL_LOCAL_LENGTH
        or match.group(2).startswith(".")
    ):
        return Token(raw, TokenKind.INVALID, "", InvalidReason.ADDRESS)
    return Token(raw, TokenKind.VALID, f"{match.group(1)}@{match.group(2).lower()}")
