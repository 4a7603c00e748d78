"""users.php settings (http-api.md §7): what a main account may set on a sub-client, checked.

:class:`SubclientSettings` holds what a request gave (``None`` = not given); :func:`split_settings`
checks it and sorts it into the columns of the account row, of its policy row, and the profile fields
that are stored but not acted on. Any value out of range is a :class:`PolicyError` (request error 1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smsgate.domain.codes import Currency
from smsgate.domain.subclients import (
    FLAG_BLOCKED,
    FLAG_NAME,
    FLAG_TEST_MODE,
    PolicyError,
    ShareType,
    parse_fmts,
    parse_tmlim,
)

MIN_PASSWORD_LENGTH = 8
# users.php ``tz`` 0..24 = GMT-12..GMT+12, stored relative to Moscow (UTC+3): ``tz - 15`` hours.
TZ_MOSCOW = 15
MAX_TARIFF = 8
MAX_LIMIT = 10_000_000
# Settings stored as given and not acted on by smsgate.
PROFILE_FIELDS = (
    "fio",
    "props",
    "cntr",
    "email",
    "email2",
    "phone",
    "phone2",
    "site_id",
    "mintrf",
    "sender2",
    "nb",
    "ktm",
    "notes",
    "ph",
    "vld",
    "mph",
    "mh1",
    "mh2",
    "mlen",
    "answ",
    "answ_call",
)
MAX_PROFILE_VALUE = 1000
LIMIT_FIELDS = ("dlim", "plim", "tlim", "ilim")
_URL = re.compile(r"^https?://[^\s/]+\S*$")


@dataclass(frozen=True, slots=True)
class SubclientSettings:
    password: str | None = None
    share_type: str | None = None
    tz: str | None = None
    tariff: str | None = None
    curr: str | None = None
    sender: str | None = None
    url: str | None = None
    tmlim: str | None = None
    fmts: str | None = None
    limits: Mapping[str, str] = field(default_factory=dict)
    # Flag name (``fl[29]``) → set (True) or cleared (False).
    flags: Mapping[str, bool] = field(default_factory=dict)
    profile: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SplitSettings:
    """Checked values: account columns, policy columns, flags to set/clear, profile fields."""

    account: dict[str, Any]
    policy: dict[str, Any]
    flags: Mapping[str, bool]
    profile: Mapping[str, str]
    password: str | None
    sender: str | None


def _int_in(name: str, text: str, low: int, high: int) -> int:
    value = text.strip()
    if not value.isdigit() or not low <= int(value) <= high:
        raise PolicyError(f"{name} must be {low}..{high}")
    return int(value)


def split_settings(settings: SubclientSettings) -> SplitSettings:
    """Check every given setting and sort it into columns (see the module docstring)."""
    if settings.password is not None and len(settings.password) < MIN_PASSWORD_LENGTH:
        raise PolicyError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    for name, value in settings.profile.items():
        if name not in PROFILE_FIELDS:
            raise PolicyError(f"unknown setting {name!r}")
        if len(value) > MAX_PROFILE_VALUE:
            raise PolicyError(f"{name} longer than {MAX_PROFILE_VALUE} characters")
    sender = settings.sender.strip() if settings.sender is not None else None
    return SplitSettings(
        _account_values(settings),
        _policy_values(settings),
        settings.flags,
        settings.profile,
        settings.password,
        sender,
    )


def _given(value: str | None) -> str | None:
    """A value that was given and is not blank."""
    return value.strip() if value is not None and value.strip() else None


def _account_values(settings: SubclientSettings) -> dict[str, Any]:
    account: dict[str, Any] = {}
    if (tz := _given(settings.tz)) is not None:
        account["tz_minutes"] = (_int_in("tz", tz, 0, 24) - TZ_MOSCOW) * 60
    if (tariff := _given(settings.tariff)) is not None:
        account["tariff_plan"] = _int_in("tariff", tariff, 0, MAX_TARIFF)
    if (curr := _given(settings.curr)) is not None:
        number = _int_in("curr", curr, 1, 5)
        account["currency"] = next(c for c in Currency if c == number).code
    if settings.url is not None:
        url = settings.url.strip()
        if url and not _URL.match(url):
            raise PolicyError("url must be an http:// or https:// URL")
        account["callback_url"] = url or None
    for name in settings.flags:
        if not FLAG_NAME.match(name):
            raise PolicyError(f"unknown flag {name!r}")
    if FLAG_BLOCKED in settings.flags:
        account["disabled"] = settings.flags[FLAG_BLOCKED]
    if FLAG_TEST_MODE in settings.flags:
        account["test_mode"] = settings.flags[FLAG_TEST_MODE]
    return account


def _policy_values(settings: SubclientSettings) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if (share := _given(settings.share_type)) is not None:
        policy["share_type"] = int(ShareType(_int_in("type", share, 0, 4)))
    for name in LIMIT_FIELDS:
        if name in settings.limits:
            text = settings.limits[name].strip()
            # 0 or empty: no limit.
            policy[name] = (_int_in(name, text, 0, MAX_LIMIT) or None) if text else None
    if settings.tmlim is not None:
        window = parse_tmlim(settings.tmlim)
        policy["tmlim"] = str(window) if window else None
    if settings.fmts is not None:
        policy["fmts"] = str(parse_fmts(settings.fmts))
    return policy


def merge_flags(stored: str, changes: Mapping[str, bool]) -> str:
    """The stored JSON list of set flags with ``changes`` applied."""
    current = json.loads(stored or "[]")
    flags = {str(f) for f in current} if isinstance(current, list) else set()
    for name, on in changes.items():
        if on:
            flags.add(name)
        else:
            flags.discard(name)
    return json.dumps(sorted(flags))


def merge_profile(stored: str, changes: Mapping[str, str]) -> str:
    """The stored JSON object of profile fields with ``changes`` applied."""
    current = json.loads(stored or "{}")
    profile = {str(k): str(v) for k, v in current.items()} if isinstance(current, dict) else {}
    profile.update(changes)
    return json.dumps(profile, ensure_ascii=False, sort_keys=True)


def profile_field(stored: str, name: str) -> str:
    current = json.loads(stored or "{}")
    return str(current.get(name, "")) if isinstance(current, dict) else ""
