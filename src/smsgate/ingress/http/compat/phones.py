"""phones.php (http-api.md §6): contacts, contact groups and the blacklist.

One command per request (``add``, ``add_group``, ``chg``, ``chg_group``, ``move_group``, ``del``,
``del_group``, ``get``, ``get_group``, ``add_black``, ``del_black``, ``get_black``); none or several
are error 1. Errors (codes.md §1.2): 1 parameters, 2 and 4 from the pipeline, 3 ``record error``
(not found, duplicate, not saved; a record of another account is not found), 9 concurrency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from smsgate.domain.contacts import (
    BlacklistKind,
    ContactError,
    GroupKind,
    MoveMode,
    parse_group_num,
    parse_ids,
    valid_phone_list,
)
from smsgate.domain.phones import TokenKind, parse_email_list
from smsgate.domain.smsc_time import format_date
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import CreatedReply, ListReply, OkReply, Record, Reply
from smsgate.services.contacts import ContactFilter, parameters_error, record_error
from smsgate.store.repos.contacts import ContactRecord, GroupRecord

# Contact parameters of add=1 and chg=1 (http-api.md §6).
CONTACT_PARAMS = (
    *("phone", "mail", "name", "lnm", "fnm", "mnm", "fio"),
    *("bd", "myid", "cmt", "tags", "pho"),
)
MAX_PAGE = 1000
LARGE_PARAMS = frozenset({"phone", "mail"})  # number lists of del, move_group and the blacklist

Command = Callable[[CompatContext], Awaitable[Reply]]


def _int(ctx: CompatContext, name: str, low: int, high: int, default: int) -> int:
    text = ctx.params.get(name).strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise parameters_error(f"{name} must be {low}..{high}")
    return int(text)


def _ids(ctx: CompatContext, name: str = "grp") -> tuple[int, ...]:
    try:
        return parse_ids(ctx.params.get(name), name)
    except ContactError as exc:
        raise parameters_error(str(exc)) from exc


def _one_id(ctx: CompatContext, name: str = "grp") -> int:
    ids = _ids(ctx, name)
    if len(ids) != 1:
        raise parameters_error(f"{name} must be one id")
    return ids[0]


def _phones(ctx: CompatContext) -> tuple[str, ...]:
    """Numbers of a ``phone`` list, normalised (lookups: the plan does not matter here)."""
    try:
        return valid_phone_list(ctx.params.get("phone"), lambda _: True)
    except ContactError as exc:
        raise parameters_error(str(exc)) from exc


def _mails(ctx: CompatContext) -> tuple[str, ...]:
    parsed = parse_email_list(ctx.params.get("mail"))
    if any(t.kind not in (TokenKind.VALID, TokenKind.DUPLICATE) for t in parsed.tokens):
        raise parameters_error("mail must be a list of e-mail addresses")
    return parsed.valid


def _named(ctx: CompatContext) -> tuple[tuple[str, ...], tuple[str, ...]]:
    phones, mails = _phones(ctx), _mails(ctx)
    if not phones and not mails:
        raise parameters_error("phone or mail is required")
    return phones, mails


def _given(ctx: CompatContext, names: tuple[str, ...]) -> dict[str, str]:
    return {name: ctx.params.values[name] for name in names if name in ctx.params.values}


# --- contacts -------------------------------------------------------------------------------------


async def _add(ctx: CompatContext) -> Reply:
    given = _given(ctx, CONTACT_PARAMS)
    contact_id = await ctx.services.contacts.add(ctx.account.id, given, _ids(ctx))
    return CreatedReply(contact_id)


async def _chg(ctx: CompatContext) -> Reply:
    given = _given(ctx, (*CONTACT_PARAMS, "new_phone", "new_mail"))
    groups = _ids(ctx) if "grp" in ctx.params.values else None
    await ctx.services.contacts.change(ctx.account.id, given, groups)
    return OkReply()


async def _move_group(ctx: CompatContext) -> Reply:
    mode = MoveMode(_int(ctx, "move_group", 1, 3, 1))
    phones, mails = _named(ctx)
    groups = _ids(ctx)
    if not groups:
        raise parameters_error("grp is required")
    await ctx.services.contacts.move(ctx.account.id, phones, mails, groups, mode)
    return OkReply()


async def _del(ctx: CompatContext) -> Reply:
    phones, mails = _named(ctx)
    await ctx.services.contacts.delete(ctx.account.id, phones, mails)
    return OkReply()


def _prefix(text: str) -> str:
    digits = "".join(ch for ch in text.strip().removeprefix("+") if ch not in " -().")
    if digits and not (digits.isascii() and digits.isdigit()):
        raise parameters_error("phone must be the first digits of a number")
    return digits


async def _get(ctx: CompatContext) -> Reply:
    group = _one_id(ctx) if ctx.params.get("grp").strip() else None
    where = ContactFilter(
        group_id=group,
        phone_prefix=_prefix(ctx.params.get("phone")),
        search=ctx.params.get("search").strip(),
        after_id=_int(ctx, "after_id", 0, 2**63 - 1, 0),
        limit=_int(ctx, "cnt", 1, MAX_PAGE, MAX_PAGE),
    )
    found = await ctx.services.contacts.contacts(ctx.account.id, where)
    return ListReply([contact_record(c) for c in found])


def contact_record(contact: ContactRecord) -> Record:
    """Contact fields in the order of http-api.md §6."""
    return [
        ("id", contact.id),
        ("phone", contact.phone),
        ("mail", contact.mail),
        ("name", contact.name),
        ("lnm", contact.lnm),
        ("fnm", contact.fnm),
        ("mnm", contact.mnm),
        ("bd", contact.bd),
        ("myid", contact.myid),
        ("pho", contact.pho),
        ("grp", ";".join(str(g) for g in contact.groups)),
        ("tags", contact.tags),
        ("cmt", contact.cmt),
    ]


# --- groups ---------------------------------------------------------------------------------------


def _num(ctx: CompatContext) -> int | None:
    try:
        return parse_group_num(ctx.params.get("num"))
    except ContactError as exc:
        raise parameters_error(str(exc)) from exc


async def _add_group(ctx: CompatContext) -> Reply:
    kind = GroupKind(_int(ctx, "type", 0, 1, 0))
    group_id = await ctx.services.contacts.add_group(
        ctx.account.id, ctx.params.get("name"), _num(ctx), kind
    )
    return CreatedReply(group_id)


async def _chg_group(ctx: CompatContext) -> Reply:
    group_id = _one_id(ctx)
    changes: dict[str, object] = {}
    if "name" in ctx.params.values:
        changes["name"] = ctx.params.get("name")
    if "num" in ctx.params.values:
        changes["num"] = _num(ctx)
    await ctx.services.contacts.change_group(ctx.account.id, group_id, changes)
    return OkReply()


async def _del_group(ctx: CompatContext) -> Reply:
    await ctx.services.contacts.delete_group(ctx.account.id, _one_id(ctx))
    return OkReply()


async def _get_group(ctx: CompatContext) -> Reply:
    groups = await ctx.services.contacts.groups(ctx.account.id)
    return ListReply([group_record(g) for g in groups])


def group_record(group: GroupRecord) -> Record:
    """Group fields in the order of http-api.md §6."""
    return [
        ("id", group.id),
        ("num", group.num),
        ("type", group.kind),
        ("cnt", group.cnt),
        ("name", group.name),
    ]


# --- blacklist ------------------------------------------------------------------------------------


async def _add_black(ctx: CompatContext) -> Reply:
    kind = BlacklistKind(_int(ctx, "type", 0, 2, 0))
    phones = _phones(ctx)
    if not phones:
        raise parameters_error("phone is required")
    await ctx.services.blacklist.add(ctx.account.id, phones, kind)
    return OkReply()


async def _del_black(ctx: CompatContext) -> Reply:
    phones = _phones(ctx)
    if not phones:
        raise parameters_error("phone is required")
    if not await ctx.services.blacklist.remove(ctx.account.id, phones):
        raise record_error("number not in the blacklist")
    return OkReply()


async def _get_black(ctx: CompatContext) -> Reply:
    entries = await ctx.services.blacklist.entries(ctx.account.id)
    tz = ctx.account.tz_minutes
    records: list[Record] = [
        [("phone", e.phone), ("type", e.kind), ("date", format_date(e.created_at, tz))]
        for e in entries
    ]
    return ListReply(records)


COMMANDS: Mapping[str, Command] = {
    "add": _add,
    "add_group": _add_group,
    "chg": _chg,
    "chg_group": _chg_group,
    "move_group": _move_group,
    "del": _del,
    "del_group": _del_group,
    "get": _get,
    "get_group": _get_group,
    "add_black": _add_black,
    "del_black": _del_black,
    "get_black": _get_black,
}


def command_of(params: Mapping[str, str], commands: Mapping[str, Command]) -> Command:
    """The one command flag set (any value but empty and ``0``); error 1 for none or several."""
    chosen = [name for name in commands if params.get(name, "").strip() not in ("", "0")]
    if len(chosen) != 1:
        raise parameters_error(f"exactly one of {', '.join(commands)} is required")
    return commands[chosen[0]]


async def handle(ctx: CompatContext) -> Reply:
    return await command_of(ctx.params.values, COMMANDS)(ctx)
