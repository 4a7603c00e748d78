"""templates.php: message templates of an account (http-api.md §9).

Commands ``add`` (``name``, ``msg``, ``format``, ``sender``, ``fl[1]``), ``chg`` (``id`` + fields),
``del`` (``id``) and ``get``. An id of another account's template is "template not found" (3).
"""

from __future__ import annotations

from collections.abc import Mapping

from smsgate.domain.templates import FORMAT_FLAGS
from smsgate.ingress.http.compat.args import command, int_param, optional, parameters_error
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import CreatedReply, ListReply, OkReply, Record, Reply
from smsgate.services.templates import TemplateFields

COMMANDS = ("add", "chg", "del", "get")
MAX_ID = 2_147_483_647
AUTOSIGN = "fl[1]"


def fields_of(params: Mapping[str, str]) -> TemplateFields:
    autosign = params.get(AUTOSIGN)
    if autosign is not None and autosign.strip() not in ("", "0", "1"):
        raise parameters_error("fl[1] must be 0 or 1")
    return TemplateFields(
        name=optional(params, "name"),
        msg=optional(params, "msg"),
        format=optional(params, "format"),
        sender=optional(params, "sender"),
        autosign=None if autosign is None else autosign.strip() == "1",
    )


def template_id(params: Mapping[str, str]) -> int:
    value = int_param(params, "id", 1, MAX_ID)
    if value is None:
        raise parameters_error("id is required")
    return value


async def handle(ctx: CompatContext) -> Reply:
    params = ctx.params.values
    service = ctx.services.templates
    name = command(params, COMMANDS)
    if name == "add":
        return CreatedReply(await service.add(ctx.account, fields_of(params)))
    if name == "chg":
        await service.change(ctx.account, template_id(params), fields_of(params))
        return OkReply()
    if name == "del":
        await service.delete(ctx.account, template_id(params))
        return OkReply()
    records: list[Record] = [
        [
            ("id", t.id),
            ("name", t.name),
            ("format", t.format),
            ("sender", t.sender or ""),
            ("autosign", int(t.autosign)),
            ("msg", t.msg),
        ]
        for t in await service.list(ctx.account)
    ]
    return ListReply(records)


# Type flags of send.php: a template's ``format`` applies only when none of these is given.
_SEND_TYPE_PARAMS = ("flash", "bin", "push", "hlr", "ping", "mms", "mail", "soc", "viber", "tg")
_SEND_TYPE_PARAMS_EXTRA = ("call", "bot")


async def apply_template(
    ctx: CompatContext, params: Mapping[str, str], raw: Mapping[str, bytes]
) -> tuple[Mapping[str, str], Mapping[str, bytes]]:
    """send.php ``tpl=<id>``: the template's ``msg`` as the text, its sender when ``sender`` is
    absent and its ``format`` as the type when no type flag is given (http-api.md §9). An unknown
    id, or another account's, is error 1 (§2.1)."""
    value = params.get("tpl", "").strip()
    if not value:
        return params, raw
    template = None
    if value.isdigit() and int(value) <= MAX_ID:
        template = await ctx.services.templates.get(ctx.account, int(value))
    if template is None:
        raise parameters_error("template not found")
    merged = {k: v for k, v in params.items() if k != "tpl"}
    merged["mes"] = template.msg
    if "sender" not in params and template.sender:
        merged["sender"] = template.sender
    flag = FORMAT_FLAGS.get(template.format)
    typed = any(
        params.get(name, "").strip() not in ("", "0")
        for name in (*_SEND_TYPE_PARAMS, *_SEND_TYPE_PARAMS_EXTRA)
    )
    if flag is not None and not typed:
        merged[flag] = "1"
    # The template's text replaces the request's bytes too (``bin=1`` reads them).
    return merged, {k: v for k, v in raw.items() if k != "mes"}
