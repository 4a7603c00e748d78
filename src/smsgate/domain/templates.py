"""Message templates and operator templates: the pure half (http-api.md §9, codes.md §4.4, §5.4).

An operator template is a text registered with an operator for one sender; ``%`` in it matches any
run of characters, and whitespace is compared collapsed. Operators marked "template required" accept
a message only when it matches an approved template of its sender; otherwise the recipient ends with
status 20, err 238 (:func:`check_operator_templates`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from enum import IntEnum

from smsgate.domain.codes import ErrCode, MessageStatus, MessageType
from smsgate.domain.sending import PreparedSend

# codes.md §4.4 template ``format`` names and the send.php flag each stands for.
FORMAT_FLAGS: Mapping[str, str | None] = {
    "": None,
    "sms": None,
    "flash": "flash",
    "bin": "bin",
    "push": "push",
    "mms": "mms",
    "call": "call",
    "mail": "mail",
    "viber": "viber",
    "tg": "tg",
}
# Types whose texts get the account's auto-signature (``fl[1]``).
SIGNED_TYPES = frozenset({MessageType.SMS, MessageType.FLASH})

# op_templates.php registration flags: ``<operator>_<kind>``, and ``soc`` (social networks).
OPERATOR_CODES = ("mts", "mega", "bee", "tele2", "motiv", "soc")
KINDS = ("srv", "trn", "auth", "adv")
REGISTRATION_FLAGS: Mapping[str, tuple[str, str]] = {
    "mts_srv": ("mts", "srv"),
    "mts_auth": ("mts", "auth"),
    "mts_trn": ("mts", "trn"),
    "mega_srv": ("mega", "srv"),
    "mega_auth": ("mega", "auth"),
    "mega_trn": ("mega", "trn"),
    "mega_adv": ("mega", "adv"),
    "bee_srv": ("bee", "srv"),
    "bee_trn": ("bee", "trn"),
    "tele2_srv": ("tele2", "srv"),
    "tele2_trn": ("tele2", "trn"),
    "motiv_srv": ("motiv", "srv"),
    "motiv_trn": ("motiv", "trn"),
    "soc": ("soc", "srv"),
}

_SPACE = re.compile(r"\s+")


class OpTemplateStatus(IntEnum):
    """codes.md §5.4."""

    SUBMITTED = 0
    APPROVED = 1
    REJECTED = 2


def collapse(text: str) -> str:
    """Whitespace runs become one space; leading and trailing whitespace goes."""
    return _SPACE.sub(" ", text).strip()


def template_matches(template: str, text: str) -> bool:
    """Whether ``text`` matches ``template`` (``%`` = any run of characters, whitespace collapsed).

    A greedy wildcard match with backtracking to the last ``%`` only: O(len(template) × len(text))
    at worst, whatever the number of ``%`` (a regular expression could backtrack exponentially).
    """
    pattern, subject = collapse(template), collapse(text)
    p = s = 0
    star = -1
    resume = 0
    while s < len(subject):
        if p < len(pattern) and pattern[p] == "%":
            star, resume = p, s
            p += 1
        elif p < len(pattern) and pattern[p] == subject[s]:
            p += 1
            s += 1
        elif star >= 0:
            p = star + 1
            resume += 1
            s = resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "%":
        p += 1
    return p == len(pattern)


def check_operator_templates(
    prepared: PreparedSend,
    required: Mapping[str, str],
    approved: Mapping[str, Sequence[str]],
) -> PreparedSend:
    """Mark accepted recipients on a "template required" operator whose text matches none of the
    sender's approved templates for that operator as status 20, err 238 (cost 0).

    ``required`` maps numbering-plan operator names to op_templates operator codes; ``approved``
    maps operator codes to the approved template texts of the message's sender.
    """
    if not required:
        return prepared
    out = []
    for r in prepared.recipients:
        code = required.get(r.operator or "") if r.accepted else None
        if code is not None and not any(
            template_matches(t, r.text) for t in approved.get(code, ())
        ):
            r = replace(
                r, status=MessageStatus.CANNOT_DELIVER, err=ErrCode.NO_TEMPLATE, cost=Decimal(0)
            )
        out.append(r)
    return replace(prepared, recipients=tuple(out))
