"""users.php: sub-clients of a main account (http-api.md §7).

Commands ``add``, ``chg``, ``pay``, ``get_stat``, ``get_stat_all`` and ``get``. The caller acts only
on its own sub-clients (services.subclients); ``add`` and ``chg`` count toward
``limits.user_change`` per sub-client.
"""

from __future__ import annotations

from collections.abc import Mapping

from smsgate.domain.money import parse_amount
from smsgate.domain.smsc_time import format_date
from smsgate.domain.subclient_settings import (
    LIMIT_FIELDS,
    PROFILE_FIELDS,
    SubclientSettings,
    profile_field,
)
from smsgate.ingress.http.compat.args import (
    command,
    date_range,
    flag_params,
    int_param,
    optional,
    parameters_error,
    required,
)
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import CreatedReply, ListReply, OkReply, Record, Reply
from smsgate.services.guards import request_fingerprint
from smsgate.services.subclients import ChildRef, SubclientService

COMMANDS = ("add", "chg", "pay", "get_stat", "get_stat_all", "get")
MAX_USER_ID = 2_147_483_647


def settings_of(params: Mapping[str, str]) -> SubclientSettings:
    return SubclientSettings(
        password=optional(params, "password"),
        share_type=optional(params, "type"),
        tz=optional(params, "tz"),
        tariff=optional(params, "tariff"),
        curr=optional(params, "curr"),
        sender=optional(params, "sender"),
        url=optional(params, "url"),
        tmlim=optional(params, "tmlim"),
        fmts=optional(params, "fmts"),
        limits={name: params[name] for name in LIMIT_FIELDS if name in params},
        flags=flag_params(params),
        profile={name: params[name] for name in PROFILE_FIELDS if name in params},
    )


def child_ref(params: Mapping[str, str], *, needed: bool = True) -> ChildRef | None:
    """The sub-client named by ``user`` or ``user_id``; error 1 when neither is given."""
    login = params.get("user", "").strip()
    if login:
        return ChildRef(login=login)
    child_id = int_param(params, "user_id", 1, MAX_USER_ID)
    if child_id is not None:
        return ChildRef(child_id=child_id)
    if needed:
        raise parameters_error("user or user_id is required")
    return None


def _main_balance(params: Mapping[str, str]) -> bool | None:
    """``reseller``: 0 sub-clients on the main balance, 1 independent ones; absent = all."""
    value = int_param(params, "reseller", 0, 1)
    return None if value is None else value == 0


async def _limit_changes(ctx: CompatContext, login: str) -> None:
    fingerprint = request_fingerprint("/sys/users.php#user", {"user": login.lower()})
    await ctx.limit(ctx.services.settings.limits.user_change, fingerprint=fingerprint)


async def handle(ctx: CompatContext) -> Reply:
    params = ctx.params.values
    service = ctx.services.subclients
    name = command(params, COMMANDS)
    if name == "add":
        login = required(params, "user")
        await _limit_changes(ctx, login)
        record = await service.add(ctx.account, login, settings_of(params))
        return CreatedReply(record.id)
    if name == "chg":
        ref = child_ref(params)
        assert ref is not None
        child = await service.get(ctx.account, ref)
        await _limit_changes(ctx, child.account.login)
        await service.change(
            ctx.account,
            ref,
            settings_of(params),
            new_login=optional(params, "new_login"),
            current_password=params.get("pswc") or None,
        )
        return OkReply()
    if name == "pay":
        ref = child_ref(params)
        assert ref is not None
        try:
            amount = parse_amount(required(params, "sum"))
        except ValueError:
            raise parameters_error("sum must be an amount") from None
        await service.pay(ctx.account, ref, amount)
        return OkReply()
    if name == "get":
        return await _list(ctx, service)
    return await _stats(ctx, service, by_day=name == "get_stat_all")


async def _list(ctx: CompatContext, service: SubclientService) -> Reply:
    tz = ctx.account.tz_minutes
    records: list[Record] = [
        [
            ("id", child.account.id),
            ("login", child.account.login),
            ("type", int(child.share_type)),
            ("balance", child.account.balance),
            ("currency", child.account.currency),
            ("blocked", int(child.account.disabled)),
            ("created", format_date(child.account.created_at, tz)),
            ("fio", profile_field(child.policy.profile if child.policy else "", "fio")),
        ]
        for child in await service.list(ctx.account)
    ]
    return ListReply(records)


async def _stats(ctx: CompatContext, service: SubclientService, *, by_day: bool) -> Reply:
    params = ctx.params.values
    start, end = date_range(params, ctx.account.tz_minutes)
    ref = child_ref(params, needed=False)
    main_balance = _main_balance(params)
    records: list[Record]
    if by_day:
        rows = await service.daily_stats(
            ctx.account, start, end, ref=ref, main_balance=main_balance
        )
        records = [
            [
                ("login", r.login),
                ("date", r.day.strftime("%d.%m.%Y")),
                ("type", r.msg_type),
                ("cnt", r.cnt),
                ("credit", r.credit),
            ]
            for r in rows
        ]
    else:
        stats = await service.stats(ctx.account, start, end, ref=ref, main_balance=main_balance)
        records = [
            [
                ("login", r.login),
                ("cnt", r.cnt),
                ("credit", r.credit),
                ("debit", r.debit),
                ("currency", r.currency),
            ]
            for r in stats
        ]
    return ListReply(records)
