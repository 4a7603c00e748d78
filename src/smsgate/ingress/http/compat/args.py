"""Parameter helpers shared by the account-management endpoints (users, senders, templates,
op_templates): the command, integers, flags and date ranges, each refused as the spec says."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.smsc_time import TimeFormatError, parse_range_end, parse_range_start
from smsgate.errors import RequestError

_FLAG_PARAM = re.compile(r"^(fl|fl2|fl3|mfl)\[(\d{1,2})\]$", re.ASCII)
# The far ends of a range whose ``start`` or ``end`` was not given.
EARLIEST = 0.0
LATEST = 1e12


def parameters_error(detail: str) -> RequestError:
    return RequestError(RequestErrorCode.PARAMETERS, detail)


def command(params: Mapping[str, str], names: Sequence[str]) -> str:
    """The one command given as ``<name>=1``; error 1 when none is."""
    for name in names:
        if params.get(name, "").strip() == "1":
            return name
    raise parameters_error(f"one of {', '.join(n + '=1' for n in names)} is required")


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise parameters_error(f"{name} is required")
    return value


def optional(params: Mapping[str, str], name: str) -> str | None:
    """The value when the parameter is present (it may be empty), else None."""
    return params.get(name)


def int_param(
    params: Mapping[str, str], name: str, low: int, high: int, default: int | None = None
) -> int | None:
    value = params.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise parameters_error(f"{name} must be {low}..{high}")
    return int(value)


def flag_params(params: Mapping[str, str]) -> dict[str, bool]:
    """Every ``fl[n]``/``fl2[n]``/``fl3[n]``/``mfl[n]`` parameter: 1 sets, 0 (or empty) clears."""
    flags: dict[str, bool] = {}
    for name, value in params.items():
        if _FLAG_PARAM.match(name):
            text = value.strip()
            if text not in ("", "0", "1"):
                raise parameters_error(f"{name} must be 0 or 1")
            flags[name] = text == "1"
    return flags


def date_range(
    params: Mapping[str, str], tz_minutes: int, start: str = "start", end: str = "end"
) -> tuple[float, float]:
    """``[start, end)`` in Unix seconds from ``DD.MM.YYYY[ hh:mm[:ss]]`` inputs read in the account
    zone (an ``end`` without time is the end of that day); absent = unbounded; invalid → error 5."""
    try:
        low = params.get(start, "").strip()
        high = params.get(end, "").strip()
        return (
            parse_range_start(low, tz_minutes).timestamp() if low else EARLIEST,
            parse_range_end(high, tz_minutes).timestamp() if high else LATEST,
        )
    except TimeFormatError as exc:
        raise RequestError(RequestErrorCode.INVALID_DATE, exc.detail) from None
