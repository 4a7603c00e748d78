"""op_templates.php: templates registered with operators per sender (http-api.md §9).

``add`` (``sender``, ``msg`` and operator×kind flags such as ``mts_srv``) creates one registration
request per flag and answers Created with the first one's id (smsgate definition; ``get`` lists
them all). ``get`` (``sender``, ``msg`` filters; ``msg`` matches a substring) lists the account's
own requests only. The platform admin approves them (``smsgate optemplate approve``).
"""

from __future__ import annotations

from smsgate.domain.templates import REGISTRATION_FLAGS
from smsgate.ingress.http.compat.args import command, parameters_error, required
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import CreatedReply, ListReply, Record, Reply
from smsgate.services.senders import SenderError

COMMANDS = ("add", "get")
MAX_MSG = 1000


async def handle(ctx: CompatContext) -> Reply:
    params = ctx.params.values
    service = ctx.services.templates
    if command(params, COMMANDS) == "add":
        sender = required(params, "sender")
        msg = required(params, "msg")
        if len(msg) > MAX_MSG:
            raise parameters_error(f"msg longer than {MAX_MSG}")
        flags = [pair for flag, pair in REGISTRATION_FLAGS.items() if params.get(flag) == "1"]
        if not flags:
            raise parameters_error("at least one operator flag (mts_srv, …) is required")
        try:
            await ctx.services.senders.find(ctx.account, name=sender)
        except SenderError:
            raise parameters_error("not a sender name of this account") from None
        ids = await service.register(ctx.account, sender, msg, flags)
        return CreatedReply(ids[0])
    sender_filter = params.get("sender", "").strip() or None
    msg_filter = params.get("msg", "")
    records: list[Record] = [
        [
            ("id", t.id),
            ("sender", t.sender),
            ("operator", t.operator),
            ("kind", t.kind),
            ("status", t.status),
            ("msg", t.msg),
        ]
        for t in await service.op_templates(ctx.account, sender=sender_filter)
        if msg_filter in t.msg
    ]
    return ListReply(records)
