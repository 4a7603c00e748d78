"""Sub-client policies and how they shape a send (http-api.md §7, §2.5): the pure half.

A policy is what users.php sets on an account: how it shares its main account's tariff and balance,
daily limits (``dlim`` total, ``plim`` per number, ``tlim`` per number and text, ``ilim`` per end-user
IP), allowed hours ``tmlim``, allowed number prefixes ``fmts`` and flags. :func:`apply_policy` takes a
prepared send and the day's counts and rejects or defers recipients:

=====================================================  ======  ====
reason                                                 status  err
=====================================================  ======  ====
number outside ``fmts``                                23      250
mass sending forbidden (``fl[6]``, ``fl2[23]``)        23      244
outside ``tmlim`` with ``fl2[15]``                     23      246
a daily limit reached                                  23      247
=====================================================  ======  ====

Outside ``tmlim`` without ``fl2[15]`` the message waits: its due time moves to the next start of the
window (its validity counts from there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import IntEnum

from smsgate.domain.codes import ErrCode, MessageStatus
from smsgate.domain.sending import PreparedSend, Recipient
from smsgate.domain.smsc_time import account_zone, in_hour_window

# users.php flags smsgate acts on (http-api.md §7).
FLAG_MAIN_SENDERS = "fl[29]"
FLAG_FORBID_MAILINGS = "fl[6]"
FLAG_FORBID_MASS = "fl2[23]"
FLAG_BLOCKED = "fl2[10]"
FLAG_REFUSE_OUTSIDE_HOURS = "fl2[15]"
FLAG_TEST_MODE = "fl2[27]"
FLAG_NAME = re.compile(r"^(fl|fl2|fl3|mfl)\[(\d{1,2})\]$", re.ASCII)
_TMLIM = re.compile(r"^(\d{1,2})-(\d{1,2})$", re.ASCII)
_PREFIX = re.compile(r"^-?\d{1,15}$", re.ASCII)


class PolicyError(ValueError):
    """A setting value users.php refuses (request error 1)."""


class ShareType(IntEnum):
    """users.php ``type`` (codes.md §9)."""

    OWN = 0
    MAIN_TARIFF = 1
    MAIN_TARIFF_AND_BALANCE = 2
    MAIN_BALANCE = 3
    ADDITIONAL_LOGIN = 4

    @property
    def uses_main_balance(self) -> bool:
        return self in (
            ShareType.MAIN_TARIFF_AND_BALANCE,
            ShareType.MAIN_BALANCE,
            ShareType.ADDITIONAL_LOGIN,
        )

    @property
    def uses_main_tariff(self) -> bool:
        return self in (
            ShareType.MAIN_TARIFF,
            ShareType.MAIN_TARIFF_AND_BALANCE,
            ShareType.ADDITIONAL_LOGIN,
        )


@dataclass(frozen=True, slots=True)
class HourWindow:
    """Allowed sending hours ``[start, end)`` in the account's zone; ``22-6`` wraps midnight."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


def parse_tmlim(text: str) -> HourWindow | None:
    """``h1-h2`` (h1 0..23, h2 0..24, h1 ≠ h2); empty → no restriction."""
    value = text.strip()
    if not value:
        return None
    match = _TMLIM.fullmatch(value)
    if match is None:
        raise PolicyError(f"tmlim must be h1-h2: {text!r}")
    start, end = int(match[1]), int(match[2])
    if start > 23 or end > 24 or start == end:
        raise PolicyError(f"tmlim hours out of range: {text!r}")
    return HourWindow(start, end)


@dataclass(frozen=True, slots=True)
class Prefixes:
    """``fmts``: allowed number prefixes; ``-`` excludes (``7,-77``: Russia but not Kazakhstan)."""

    allowed: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def allows(self, phone: str) -> bool:
        if any(phone.startswith(p) for p in self.excluded):
            return False
        return not self.allowed or any(phone.startswith(p) for p in self.allowed)

    def __str__(self) -> str:
        return ",".join([*self.allowed, *(f"-{p}" for p in self.excluded)])


def parse_fmts(text: str) -> Prefixes:
    """A comma-separated list of digit prefixes, each optionally preceded by ``-``."""
    items = [item.strip().lstrip("+") for item in text.split(",") if item.strip()]
    for item in items:
        if not _PREFIX.fullmatch(item):
            raise PolicyError(f"fmts: not a number prefix: {item!r}")
    return Prefixes(
        allowed=tuple(i for i in items if not i.startswith("-")),
        excluded=tuple(i[1:] for i in items if i.startswith("-")),
    )


@dataclass(frozen=True, slots=True)
class Policy:
    """The users.php settings of one account that shape what it sends."""

    share_type: ShareType = ShareType.OWN
    dlim: int | None = None
    plim: int | None = None
    tlim: int | None = None
    ilim: int | None = None
    tmlim: HourWindow | None = None
    fmts: Prefixes = Prefixes()
    flags: frozenset[str] = frozenset()

    @property
    def has_limits(self) -> bool:
        return any(v is not None for v in (self.dlim, self.plim, self.tlim, self.ilim))

    @property
    def shapes_sending(self) -> bool:
        """Whether :func:`apply_policy` can change anything."""
        return bool(
            self.has_limits
            or self.tmlim
            or self.fmts.allowed
            or self.fmts.excluded
            or self.flags & {FLAG_FORBID_MAILINGS, FLAG_FORBID_MASS}
        )


@dataclass(frozen=True, slots=True)
class DailyCounts:
    """Messages the account stored since the start of its day (in its zone)."""

    total: int = 0
    per_phone: Mapping[str, int] = field(default_factory=dict)
    per_phone_text: Mapping[tuple[str, str], int] = field(default_factory=dict)
    per_ip: int = 0


def day_start(now: float, tz_minutes: int) -> float:
    """Unix seconds of the last midnight in the account's zone."""
    local = datetime.fromtimestamp(now, UTC).astimezone(account_zone(tz_minutes))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def window_start(due_at: float, window: HourWindow, tz_minutes: int) -> float:
    """``due_at`` when its hour is inside ``window``, else the next ``window.start:00`` after it."""
    local = datetime.fromtimestamp(due_at, UTC).astimezone(account_zone(tz_minutes))
    if in_hour_window(local.hour, window.start, window.end):
        return due_at
    start = local.replace(hour=window.start, minute=0, second=0, microsecond=0)
    if start <= local:
        start += timedelta(days=1)
    return start.timestamp()


def _inside(due_at: float, window: HourWindow, tz_minutes: int) -> bool:
    return window_start(due_at, window, tz_minutes) == due_at


def apply_policy(
    prepared: PreparedSend,
    policy: Policy,
    counts: DailyCounts,
    tz_minutes: int,
    *,
    user_ip: bool = False,
) -> PreparedSend:
    """Reject or defer the recipients of ``prepared`` that ``policy`` does not allow, in request
    order (see the module docstring); ``user_ip`` says whether ``ilim`` applies to this request."""
    mass = (len(prepared.recipients) > 1 or prepared.mass) and bool(
        policy.flags & {FLAG_FORBID_MAILINGS, FLAG_FORBID_MASS}
    )
    accepted = 0
    out: list[Recipient] = []
    for r in prepared.recipients:
        if not r.accepted:
            out.append(r)
            continue
        err = _refusal(r, policy, counts, tz_minutes, mass=mass, accepted=accepted, user_ip=user_ip)
        if err is not None:
            out.append(replace(r, status=MessageStatus.PROHIBITED, err=err, cost=Decimal(0)))
            continue
        accepted += 1
        if policy.tmlim is not None:
            r = replace(r, due_at=window_start(r.due_at, policy.tmlim, tz_minutes))
        out.append(r)
    return replace(prepared, recipients=tuple(out))


def _refusal(
    r: Recipient,
    policy: Policy,
    counts: DailyCounts,
    tz_minutes: int,
    *,
    mass: bool,
    accepted: int,
    user_ip: bool,
) -> ErrCode | None:
    if not policy.fmts.allows(r.phone):
        return ErrCode.NUMBER_FORBIDDEN_BY_SETTINGS
    if mass:
        return ErrCode.MAILINGS_PROHIBITED
    if (
        policy.tmlim is not None
        and FLAG_REFUSE_OUTSIDE_HOURS in policy.flags
        and not _inside(r.due_at, policy.tmlim, tz_minutes)
    ):
        return ErrCode.TIME_RESTRICTION
    if _over_limit(r, policy, counts, accepted=accepted, user_ip=user_ip):
        return ErrCode.LIMIT_EXCEEDED
    return None


def _over_limit(
    r: Recipient, policy: Policy, counts: DailyCounts, *, accepted: int, user_ip: bool
) -> bool:
    # Within one request every number appears once, so only the totals grow as we go.
    if policy.dlim is not None and counts.total + accepted >= policy.dlim:
        return True
    if policy.plim is not None and counts.per_phone.get(r.phone, 0) >= policy.plim:
        return True
    if policy.tlim is not None and counts.per_phone_text.get((r.phone, r.text), 0) >= policy.tlim:
        return True
    return user_ip and policy.ilim is not None and counts.per_ip + accepted >= policy.ilim
