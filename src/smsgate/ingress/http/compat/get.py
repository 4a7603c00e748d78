"""get.php (http-api.md §10): message history, received messages, spending and prices.

Commands: ``get_messages``, ``get_answers``, ``get_stat``, ``get_price`` (exactly one; any other
``get_*`` is error 1). Errors (codes.md §1.2): 1 parameters, 2 and 4 from the pipeline, 5 date
format, 9 limits (``limits.price_identical`` for ``get_price``; http-api.md §1.7).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from smsgate.clock import utc_datetime
from smsgate.domain.codes import MessageType, RequestErrorCode
from smsgate.domain.history import format_filter, within_period
from smsgate.domain.phones import split_list
from smsgate.domain.pricing import TariffTable
from smsgate.domain.smsc_time import (
    TimeFormatError,
    format_date,
    parse_range_end,
    parse_range_start,
)
from smsgate.errors import RequestError
from smsgate.ingress.http.compat.phones import Command, command_of
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.compat.status import reply_id, status_values
from smsgate.ingress.http.formats import ListReply, Record, Reply
from smsgate.services.contacts import parameters_error
from smsgate.services.statuses import message_key
from smsgate.store.repos.history import HistoryFilter

MAX_MESSAGES, DEFAULT_MESSAGES = 1000, 100
MAX_ANSWERS, DEFAULT_ANSWERS = 10_000, 1000
DEFAULT_HOURS, MAX_HOURS = 24, 168
LARGE_PARAMS = frozenset({"phone", "email"})
_MESSAGE_FIELDS = (
    "status",
    "last_date",
    "last_timestamp",
    "err",
    "send_date",
    "send_timestamp",
    "int_id",
    "id",
    "phone",
    "cost",
    "sms_cnt",
    "type",
    "sender_id",
    "mccmnc",
    "country",
    "operator",
    "region",
    "status_name",
    "comment",
    "message",
)
# get_price columns after zone and name, with the type each prices (http-api.md §10).
_PRICE_TYPES = (
    ("api", MessageType.SMS),
    ("mass", MessageType.SMS),
    ("mms", MessageType.MMS),
    ("hlr", MessageType.HLR),
    ("call", MessageType.CALL),
    ("viber", MessageType.VIBER),
    ("tg", MessageType.TG),
    ("mail", MessageType.MAIL),
    ("ping", MessageType.PING),
)
ANY_ZONE = "*"  # a rule for any country or any operator (smsgate definition)


def _int(ctx: CompatContext, name: str, low: int, high: int) -> int | None:
    text = ctx.params.get(name).strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise parameters_error(f"{name} must be {low}..{high}")
    return int(text)


def _date(ctx: CompatContext, name: str) -> datetime | None:
    """``start``/``end`` in the account zone as UTC (``end`` exclusive); error 5 when malformed."""
    text = ctx.params.get(name).strip()
    if not text:
        return None
    parse = parse_range_start if name == "start" else parse_range_end
    try:
        return parse(text, ctx.account.tz_minutes)
    except TimeFormatError as exc:
        raise RequestError(exc.code, exc.detail) from exc


# --- get_messages ---------------------------------------------------------------------------------


def _recipients(ctx: CompatContext) -> tuple[str, ...]:
    """Stored forms of every number in ``phone`` and address in ``email`` (as status.php finds
    them)."""
    items = [*split_list(ctx.params.get("phone")), *split_list(ctx.params.get("email"))]
    forms: dict[str, None] = {}
    for item in items:
        forms.update(dict.fromkeys(message_key("", item).candidates))
    return tuple(forms)


async def _get_messages(ctx: CompatContext) -> Reply:
    start = _date(ctx, "start")
    if start is None:
        raise parameters_error("start is required")
    end = _date(ctx, "end") or utc_datetime(ctx.services.clock.now())
    if end < start or not within_period(start, end):
        raise parameters_error("the period must be from start to at most six months later")
    try:
        types, excluded = format_filter(_int(ctx, "format", 0, 99) or 0)
    except ValueError as exc:
        raise parameters_error(str(exc)) from exc
    where = HistoryFilter(
        start=start.timestamp(),
        end=end.timestamp(),
        phones=_recipients(ctx),
        types=types,
        exclude_types=excluded,
        before_id=_int(ctx, "prev_id", 1, 2**63 - 1),
        limit=_int(ctx, "cnt", 1, MAX_MESSAGES) or DEFAULT_MESSAGES,
    )
    found = await ctx.services.history.messages(ctx.account.id, where)
    tz = ctx.account.tz_minutes
    records: list[Record] = []
    for message in found:
        values = {
            **status_values(message, message.phone, tz),
            "int_id": message.id,
            "id": reply_id(message.client_id),
        }
        records.append([(name, values[name]) for name in _MESSAGE_FIELDS])
    return ListReply(records)


# --- get_answers ----------------------------------------------------------------------------------


async def _get_answers(ctx: CompatContext) -> Reply:
    after_id = _int(ctx, "after_id", 0, 2**63 - 1)
    hours = _int(ctx, "hour", 1, MAX_HOURS)
    if hours is None and after_id is None:
        hours = DEFAULT_HOURS
    to_phone = ctx.params.get("to_phone").strip()
    found = await ctx.services.incoming.answers(
        ctx.account.id,
        after_id=after_id,
        hours=hours,
        to_phone=(message_key("", to_phone).recipient if to_phone else None),
        limit=_int(ctx, "cnt", 1, MAX_ANSWERS) or DEFAULT_ANSWERS,
    )
    tz = ctx.account.tz_minutes
    records: list[Record] = [
        [
            ("id", answer.id),
            ("received", format_date(answer.received_at, tz)),
            ("sent", format_date(answer.sent_at, tz) if answer.sent_at is not None else ""),
            ("phone", answer.phone),
            ("to_phone", answer.to_phone),
            ("message", answer.text),
        ]
        for answer in found
    ]
    return ListReply(records)


# --- get_stat -------------------------------------------------------------------------------------


async def _get_stat(ctx: CompatContext) -> Reply:
    start, end = _date(ctx, "start"), _date(ctx, "end")
    parts, spent = await ctx.services.history.spending(
        ctx.account.id,
        start.timestamp() if start else None,
        end.timestamp() if end else None,
    )
    # Payments are not recorded as a ledger yet, so nothing received can be reported.
    record: Record = [
        ("login", ctx.account.login),
        ("cnt", parts),
        ("credit", spent),
        ("debit", Decimal(0)),
        ("currency", ctx.account.currency),
    ]
    return ListReply([record])


# --- get_price ------------------------------------------------------------------------------------


def price_records(table: TariffTable, plan: int) -> list[Record]:
    """One record per zone (country and operator of the rules that apply to ``plan``): the
    price of one part of each type there, empty where nothing prices it."""
    zones = {(rule.country, rule.operator) for rule in table.rules if rule.plan in (0, plan)}
    records: list[Record] = []
    for country, operator in sorted(zones, key=lambda z: (z[0] or "", z[1] or "")):
        prices = [
            (name, table.price(country=country, operator=operator, msg_type=kind, plan=plan))
            for name, kind in _PRICE_TYPES
        ]
        records.append([("zone", country or ANY_ZONE), ("name", operator or ANY_ZONE), *prices])
    return records


async def _get_price(ctx: CompatContext) -> Reply:
    await ctx.limit(ctx.services.settings.limits.price_identical)
    table = await ctx.services.tariffs.table()
    return ListReply(price_records(table, ctx.account.tariff_plan))


COMMANDS: Mapping[str, Command] = {
    "get_messages": _get_messages,
    "get_answers": _get_answers,
    "get_stat": _get_stat,
    "get_price": _get_price,
}


async def handle(ctx: CompatContext) -> Reply:
    unknown = [
        name
        for name, value in ctx.params.values.items()
        if name.startswith("get_") and name not in COMMANDS and value.strip() not in ("", "0")
    ]
    if unknown:
        raise RequestError(RequestErrorCode.PARAMETERS, f"unknown command {unknown[0]!r}")
    return await command_of(ctx.params.values, COMMANDS)(ctx)
