"""Contacts, contact groups and the blacklist: the pure rules of phones.php (http-api.md §6).

- A contact is known by its number (or, in e-mail groups, by its address) within one account; its
  text fields have fixed maximum lengths (``FIELD_LIMITS``) so every back end stores them alike.
- ``fio`` fills ``lnm``, ``fnm``, ``mnm`` from its first three words (smsgate definition).
- ``bd`` is a real calendar date written ``DD.MM.YYYY``.
- ``G<n>`` in a recipient list names a group by its ``num``, else by its id (§1.6); a send expands
  it to the members' numbers (e-mail addresses for ``mail=1``).
- A blacklisted number is refused for all messages (kind 0), mass mailings (1) or single messages
  (2); a request with more than one recipient is "mass" (§2.5). Refused: status 23, err 250.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import IntEnum

from smsgate.domain.numbering import is_plausible
from smsgate.domain.phones import (
    NumberCheck,
    TokenKind,
    parse_email_list,
    parse_phones,
    split_list,
)

# Longest value of each contact text field (characters).
FIELD_LIMITS: Mapping[str, int] = {
    "name": 100,
    "lnm": 100,
    "fnm": 100,
    "mnm": 100,
    "myid": 100,
    "pho": 200,
    "tags": 1000,
    "cmt": 1000,
}
MAX_GROUP_NAME = 100
MAX_GROUP_NUM = 10**18 - 1  # G<n> has at most 18 digits (domain/phones.py)
_BIRTHDAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", re.ASCII)


class ContactError(ValueError):
    """A contact, group or blacklist value the API refuses (request error 1)."""


class GroupKind(IntEnum):
    """phones.php group ``type`` (codes.md §9)."""

    PHONES = 0
    MAILS = 1


class BlacklistKind(IntEnum):
    """phones.php ``add_black`` ``type`` (codes.md §9)."""

    ALL = 0
    MASS = 1
    SINGLE = 2

    def blocks(self, mass: bool) -> bool:
        """Whether an entry of this kind refuses a message of a mass (or single) request."""
        if self is BlacklistKind.ALL:
            return True
        return mass if self is BlacklistKind.MASS else not mass


@dataclass(frozen=True, slots=True)
class GroupMembers:
    """What ``G<n>`` expands to: the members' numbers and e-mail addresses, in contact order."""

    phones: tuple[str, ...] = ()
    mails: tuple[str, ...] = ()


def group_refs(text: str) -> tuple[int, ...]:
    """The ``G<n>`` references of a recipient list, in order of first occurrence.

    Cheap for the common case of a list without groups (no ``G`` at all).
    """
    if "G" not in text and "g" not in text:
        return ()
    return parse_phones(text, lambda _: True).groups


def request_group_refs(phones: str, list_text: str | None) -> tuple[int, ...]:
    """The group references of a send request: in ``phones``, or in the phone part of every
    ``list`` line (http-api.md §2.2)."""
    if list_text is None:
        return group_refs(phones)
    found: dict[int, None] = {}
    for line in list_text.splitlines():
        head, colon, _ = line.partition(":")
        if colon:
            found.update(dict.fromkeys(group_refs(head)))
    return tuple(found)


def split_fio(fio: str) -> tuple[str, str, str]:
    """``fio`` → (last, first, middle name) from its first three words; missing ones are empty."""
    words = fio.split()[:3]
    words += [""] * (3 - len(words))
    return words[0], words[1], words[2]


def parse_birthday(text: str) -> str:
    """``bd`` as ``DD.MM.YYYY`` with leading zeros; empty stays empty; ContactError otherwise."""
    value = text.strip()
    if not value:
        return ""
    match = _BIRTHDAY.fullmatch(value)
    if match is None:
        raise ContactError(f"bd must be DD.MM.YYYY: {value[:20]!r}")
    day, month, year = (int(part) for part in match.groups())
    try:
        date(year, month, day)
    except ValueError:
        raise ContactError(f"bd is not a date: {value!r}") from None
    return f"{day:02d}.{month:02d}.{year:04d}"


def check_field(name: str, value: str) -> str:
    """A contact text field, stripped; ContactError when it is longer than its limit."""
    text = value.strip()
    if len(text) > FIELD_LIMITS[name]:
        raise ContactError(f"{name} is longer than {FIELD_LIMITS[name]} characters")
    return text


def parse_group_num(text: str) -> int | None:
    """A group ``num``: empty → none; else 0..10^18-1 (it is sent as ``G<num>``)."""
    value = text.strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > MAX_GROUP_NUM:
        raise ContactError("num must be a number of at most 18 digits")
    return int(value)


def parse_ids(text: str, name: str) -> tuple[int, ...]:
    """A list of record ids (``grp``), separated as recipient lists are; ContactError when an
    item is not a positive number."""
    ids: dict[int, None] = {}
    for item in split_list(text):
        if not item.isascii() or not item.isdigit() or not 0 < int(item) < 2**31:
            raise ContactError(f"{name} must be a list of ids")
        ids[int(item)] = None
    return tuple(ids)


def valid_phone_list(text: str, is_valid: NumberCheck = is_plausible) -> tuple[str, ...]:
    """Distinct normalised numbers of a ``phone`` list; ContactError on anything else.

    Groups and invalid items are refused: phones.php names contacts and blacklist entries by
    number.
    """
    parsed = parse_phones(text, is_valid)
    numbers = []
    for token in parsed.tokens:
        if token.kind is TokenKind.VALID:
            numbers.append(token.value)
        elif token.kind is not TokenKind.DUPLICATE:
            raise ContactError(f"invalid phone number {token.raw[:40]!r}")
    return tuple(numbers)


RECORD_ERROR = "record error"  # codes.md §1.2: phones.php error 3
_TEXT_FIELDS = ("name", "lnm", "fnm", "mnm", "myid", "pho", "tags", "cmt")


class MoveMode(IntEnum):
    """phones.php ``move_group``: 1 into the groups only, 2 add them, 3 remove them."""

    ONLY = 1
    ADD = 2
    REMOVE = 3


def single_phone(text: str, is_valid: NumberCheck) -> str:
    """One normalised number; ContactError for a list, a group or an invalid number."""
    numbers = valid_phone_list(text, is_valid)
    if len(numbers) != 1 or len(list(split_list(text))) != 1:
        raise ContactError("phone must be one number")
    return numbers[0]


def single_mail(text: str) -> str:
    """One e-mail address (domain lower-cased); ContactError otherwise."""
    parsed = parse_email_list(text)
    if len(parsed.tokens) != 1 or parsed.tokens[0].kind is not TokenKind.VALID:
        raise ContactError("mail must be one e-mail address")
    return parsed.tokens[0].value


def contact_values(
    given: Mapping[str, str],
    is_valid: NumberCheck,
    *,
    phone_key: str = "phone",
    mail_key: str = "mail",
) -> dict[str, str | None]:
    """The stored values of the contact fields present in ``given`` (http-api.md §6).

    ``phone_key``/``mail_key`` name the parameters holding the number and address (``new_phone``
    and ``new_mail`` for ``chg=1``); an empty one clears it. ``fio`` fills the three name parts
    unless they are given themselves. Raises ContactError for a value the API refuses.
    """
    values: dict[str, str | None] = {}
    if phone_key in given:
        text = given[phone_key].strip()
        values["phone"] = single_phone(text, is_valid) if text else None
    if mail_key in given:
        text = given[mail_key].strip()
        values["mail"] = single_mail(text) if text else None
    if "fio" in given:
        values.update(zip(("lnm", "fnm", "mnm"), split_fio(given["fio"]), strict=True))
    for name in _TEXT_FIELDS:
        if name in given:
            values[name] = check_field(name, given[name])
    if "bd" in given:
        values["bd"] = parse_birthday(given["bd"])
    for name in ("lnm", "fnm", "mnm"):
        if name in values:
            values[name] = check_field(name, values[name] or "")
    return values
