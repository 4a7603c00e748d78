"""senders.php: sender names (http-api.md §8).

Commands ``get``, ``add``, ``chg``, ``send_code``, ``check_code`` and ``del``. With ``user`` a main
account acts on one of its own sub-clients' names; any other login is "sender error" (3), the same
answer as for a name the account does not have. ``get`` counts toward ``limits.senders_identical``,
and so does ``send_code`` (each code is an SMS or e-mail).
"""

from __future__ import annotations

from collections.abc import Mapping

from smsgate.domain.account_codes import AccountRefusal
from smsgate.domain.smsc_time import format_date
from smsgate.errors import RequestError
from smsgate.ingress.http.compat.args import command, date_range, int_param, parameters_error
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import CreatedReply, ListReply, OkReply, Record, Reply
from smsgate.services.refusals import refuse
from smsgate.services.senders import SenderError, SenderStatus, sender_kind
from smsgate.services.subclients import ChildRef
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.senders import SenderRecord

COMMANDS = ("get", "add", "chg", "send_code", "check_code", "del")
MAX_ID = 2_147_483_647
MAX_LIST = 1000
MAX_COMMENT = 1000


async def _owner(ctx: CompatContext) -> AccountRecord:
    """The caller, or the caller's sub-client named by ``user``."""
    login = ctx.params.get("user").strip()
    if not login or login.lower() == ctx.account.login:
        return ctx.account
    try:
        child = await ctx.services.subclients.get(ctx.account, ChildRef(login=login))
    except RequestError:
        raise refuse(AccountRefusal.SENDER_ERROR, "no such sub-client") from None
    return child.account


def _name(params: Mapping[str, str]) -> str:
    """``sender``, or ``mail`` for an e-mail sender."""
    name = params.get("sender", "").strip() or params.get("mail", "").strip()
    if not name:
        raise parameters_error("sender is required")
    return name


async def _record(ctx: CompatContext, owner: AccountRecord) -> SenderRecord:
    """The owner's sender named by ``id`` or ``sender``; error 3 when it has none such."""
    params = ctx.params.values
    sender_id = int_param(params, "id", 1, MAX_ID)
    try:
        if sender_id is not None:
            return await ctx.services.senders.find(owner, sender_id=sender_id)
        return await ctx.services.senders.find(owner, name=_name(params))
    except SenderError:
        raise refuse(AccountRefusal.SENDER_ERROR, "sender not found") from None


async def handle(ctx: CompatContext) -> Reply:
    params = ctx.params.values
    name = command(params, COMMANDS)
    owner = await _owner(ctx)
    senders = ctx.services.senders
    if name == "get":
        return await _list(ctx, owner)
    if name == "add":
        sender = _name(params)
        comment = params.get("cmt", "")[:MAX_COMMENT]
        try:
            sender_kind(sender)
        except SenderError as exc:
            raise parameters_error(str(exc)) from None
        try:
            sender_id = await senders.add(owner, sender, comment=comment)
        except SenderError:
            raise refuse(AccountRefusal.SENDER_ERROR, "sender already exists") from None
        return CreatedReply(sender_id)
    record = await _record(ctx, owner)
    if name == "chg":
        if "cmt" in params:
            await senders.change_comment(record, params["cmt"][:MAX_COMMENT])
    elif name == "send_code":
        await ctx.limit(ctx.services.settings.limits.senders_identical)
        await ctx.services.sender_codes.send_code(owner, record)
    elif name == "check_code":
        code = params.get("code", "").strip()
        if not code:
            raise parameters_error("code is required")
        await ctx.services.sender_codes.check_code(owner, record, code)
    else:
        await senders.delete(owner, record)
    return OkReply()


async def _list(ctx: CompatContext, owner: AccountRecord) -> Reply:
    params = ctx.params.values
    everything = params.get("all", "").strip() == "1"
    since, _ = date_range(params, ctx.account.tz_minutes, start="from_date")
    after = int_param(params, "prev_id", 0, MAX_ID, 0) or 0
    count = int_param(params, "cnt", 1, MAX_LIST, MAX_LIST) or MAX_LIST
    await ctx.limit(ctx.services.settings.limits.senders_identical)
    chosen = [
        r
        for r in await ctx.services.senders.list(owner)
        if (everything or r.status == SenderStatus.ACTIVE)
        and r.created_at >= since
        and r.id > after
    ][:count]
    records: list[Record] = [
        [
            ("id", r.id),
            ("sender", r.name),
            ("type", r.kind),
            ("status", r.status),
            ("created", format_date(r.created_at, ctx.account.tz_minutes)),
            ("cmt", r.comment),
        ]
        for r in chosen
    ]
    return ListReply(records)
