"""The operator simulator's outcome rules: which recipient gets which answer (issue 4).

A rule pairs a glob on the recipient with an outcome. Rules are tried in order and the first match
wins; a recipient no rule matches is "otherwise deliverable" and left to the simulator's delivery
ratio. The compact string form, for a TOML value or an environment variable, is a comma-separated
list of ``pattern=outcome[:err][@delay_s]`` tokens::

    *0=undeliv:1, *9=silent, *8=undeliv:6, 7916*=deliver@30, *@unknown.example=undeliv:1

Patterns are ``fnmatch`` globs (``*``, ``?``, ``[…]``) matched case-insensitively against the whole
recipient (phone digits, e-mail address, ``@username``); they may not contain ``,``, ``=`` or
whitespace. Outcomes (each a receipt ``stat``, codes.md §3.1):

========  =====================================================  =================================
outcome   receipt                                                err
========  =====================================================  =================================
deliver   DELIVRD, whatever the delivery ratio says              none
undeliv   UNDELIV (status 20)                                    required: 1–255 (codes.md §3)
silent    none at all (the dispatcher ends it 3/245 later)       none
expire    EXPIRED (status 3)                                     optional MAP code 1–199
reject    REJECTD (status 20, err 255)                           none
roaming   DELIVRD; an HLR answer names a visited network         none
========  =====================================================  =================================

``@delay_s`` replaces the simulator's latency (and its jitter) for matching recipients.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from smsgate.domain.codes import ErrCode

# codes.md §3: 201–218 and 221–236 are reserved and never produced; 200 belongs to test mode.
_RESERVED_ERRS = frozenset(range(200, 219)) | frozenset(range(221, 237))
_MAX_ERR = 255
_MAX_MAP_ERR = 199
_FORBIDDEN_IN_PATTERN = frozenset(",=") | frozenset(" \t\r\n")


class Outcome(enum.Enum):
    """What the simulated network answers for a matching recipient (see the module table)."""

    DELIVER = "deliver"
    UNDELIV = "undeliv"
    SILENT = "silent"
    EXPIRE = "expire"
    REJECT = "reject"
    ROAMING = "roaming"


class RuleSyntaxError(ValueError):
    """A token of the compact rule form that cannot be read; ``token`` is the offending text."""

    def __init__(self, token: str, problem: str) -> None:
        super().__init__(f"simulator rule {token!r}: {problem}")
        self.token = token
        self.problem = problem


def _check_err(outcome: Outcome, err: int) -> None:
    if outcome is Outcome.UNDELIV:
        if not 1 <= err <= _MAX_ERR or err in _RESERVED_ERRS:
            raise ValueError(f"undeliv err {err} is not a delivery error code (codes.md §3)")
    elif outcome is Outcome.EXPIRE:
        if not 0 <= err <= _MAX_MAP_ERR:
            raise ValueError(f"expire err {err} is not a MAP code 1-199")
    elif err:
        raise ValueError(f"{outcome.value} takes no err")


@dataclass(frozen=True, slots=True)
class OutcomeRule:
    """One rule: recipients matching ``pattern`` get ``outcome`` (with ``err``) after ``delay_s``.

    ``delay_s`` None means the simulator's own latency. Construction checks the err against the
    outcome (module table; codes.md §3 reserved codes and 200 are refused) and raises ``ValueError``.
    """

    pattern: str
    outcome: Outcome
    err: int = ErrCode.NONE
    delay_s: float | None = None

    def __post_init__(self) -> None:
        if not self.pattern:
            raise ValueError("empty pattern")
        bad = _FORBIDDEN_IN_PATTERN.intersection(self.pattern)
        if bad:
            raise ValueError(f"pattern {self.pattern!r} contains {''.join(sorted(bad))!r}")
        _check_err(self.outcome, self.err)
        if self.delay_s is not None and not (math.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ValueError(f"delay {self.delay_s} is not a number of seconds >= 0")

    def matches(self, recipient: str) -> bool:
        """Whether the glob matches the whole recipient, ignoring case."""
        return fnmatchcase(recipient.casefold(), self.pattern.casefold())

    def __str__(self) -> str:
        """The compact form that ``parse_rules`` reads back."""
        text = f"{self.pattern}={self.outcome.value}"
        if self.err:
            text += f":{self.err}"
        if self.delay_s is not None:
            text += f"@{_seconds(self.delay_s)}"
        return text


# The simulator's historical behaviour: a number ending in 0 is unknown to the network (err 1), one
# ending in 9 never answers, one ending in 8 is offline (err 6); everything else is delivered.
DEFAULT_RULES: tuple[OutcomeRule, ...] = (
    OutcomeRule("*0", Outcome.UNDELIV, ErrCode.NO_SUBSCRIBER),
    OutcomeRule("*9", Outcome.SILENT),
    OutcomeRule("*8", Outcome.UNDELIV, ErrCode.SUBSCRIBER_OFFLINE),
)


def first_match(rules: Sequence[OutcomeRule], recipient: str) -> OutcomeRule | None:
    """The first rule whose pattern matches ``recipient``, or None."""
    for rule in rules:
        if rule.matches(recipient):
            return rule
    return None


def parse_rules(text: str) -> tuple[OutcomeRule, ...]:
    """Rules from the compact form (module docstring), in order.

    Whitespace around tokens and their parts is ignored, and so are empty tokens (a trailing comma).
    Outcome names are case-insensitive. The first bad token raises ``RuleSyntaxError`` naming it.
    """
    return tuple(parse_rule(token) for token in text.split(",") if token.strip())


def parse_rule(token: str) -> OutcomeRule:
    """One ``pattern=outcome[:err][@delay_s]`` token; ``RuleSyntaxError`` names it when it is bad."""
    text = token.strip()
    pattern, equals, action = (part.strip() for part in text.partition("="))
    if not equals:
        raise RuleSyntaxError(text, "expected pattern=outcome")
    if not pattern:
        raise RuleSyntaxError(text, "empty pattern")
    action, at, delay_text = (part.strip() for part in action.rpartition("@"))
    if not at:
        action, delay_text = delay_text, ""
    name, colon, err_text = (part.strip() for part in action.partition(":"))
    outcome = _outcome(text, name)
    if colon and not err_text:
        raise RuleSyntaxError(text, "empty err after ':'")
    err = _int(text, err_text, "err") if colon else 0
    delay = _delay(text, delay_text) if at else None
    if outcome is Outcome.UNDELIV and not colon:
        raise RuleSyntaxError(text, "undeliv needs an err, e.g. undeliv:1")
    try:
        return OutcomeRule(pattern, outcome, err, delay)
    except ValueError as exc:
        raise RuleSyntaxError(text, str(exc)) from None


def format_rules(rules: Iterable[OutcomeRule]) -> str:
    """The compact form of ``rules``; ``parse_rules(format_rules(r)) == tuple(r)``."""
    return ", ".join(str(rule) for rule in rules)


def _outcome(token: str, name: str) -> Outcome:
    try:
        return Outcome(name.casefold())
    except ValueError:
        known = ", ".join(o.value for o in Outcome)
        raise RuleSyntaxError(token, f"unknown outcome {name!r} (one of {known})") from None


def _int(token: str, text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise RuleSyntaxError(token, f"{what} {text!r} is not a whole number")
    return int(text)


def _delay(token: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RuleSyntaxError(token, f"delay {text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value >= 0):
        raise RuleSyntaxError(token, f"delay {text!r} is not a number of seconds >= 0")
    return value


def _seconds(value: float) -> str:
    short = f"{value:g}"
    return short if float(short) == value else repr(value)
