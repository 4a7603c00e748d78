"""send.php and /rest/send/ (http-api.md §2).

Parses parameters into a :class:`SendRequest`, calls the sending service and renders its answer in
the layouts official SMSC clients parse (``id,cnt,cost,balance`` in fmt 1 MUST keep that order).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from smsgate.domain.codes import MessageType, RequestErrorCode
from smsgate.domain.email_delivery import (
    ATTACHMENTS_OPTION,
    MailAttachment,
    format_attachment_ids,
)
from smsgate.domain.money import display
from smsgate.domain.sending import Recipient, SendRequest, resolve_type
from smsgate.errors import RequestError
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.compat.templates import apply_template
from smsgate.ingress.http.formats import Reply, to_json, xml_element
from smsgate.services.guards import request_fingerprint
from smsgate.services.sending import CostMode, SendOptions, SendResult

# Parameters that may exceed the ordinary length limit: recipient lists and texts.
LARGE_PARAMS = frozenset({"phones", "mes", "list"})

_TYPE_FLAGS: Mapping[str, MessageType] = {
    "flash": MessageType.FLASH,
    "push": MessageType.PUSH,
    "hlr": MessageType.HLR,
    "ping": MessageType.PING,
    "mms": MessageType.MMS,
    "mail": MessageType.MAIL,
    "soc": MessageType.SOC,
    "viber": MessageType.VIBER,
    "tg": MessageType.TG,
    "call": MessageType.CALL,
}
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_VOICE = re.compile(r"^[mw][234]?(,[a-z]{2})?$")
_OPTION_PARAMS = ("voice", "param", "fileurl", "tinyurl", "smsreq", "bot", "userip", "pp")
MAX_CLIENT_ID = 2_147_483_647


def _flag(params: Mapping[str, str], name: str, allowed: tuple[str, ...] = ("1",)) -> str:
    value = params.get(name, "").strip()
    if value in ("", "0"):
        return ""
    if value not in allowed:
        raise RequestError(RequestErrorCode.PARAMETERS, f"{name} must be 0 or {'/'.join(allowed)}")
    return value


def _int_param(params: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    value = params.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise RequestError(RequestErrorCode.PARAMETERS, f"{name} must be {low}..{high}")
    return int(value)


def _message_type(params: Mapping[str, str]) -> tuple[MessageType | None, int]:
    """The type flag (at most one) and the ``bin`` mode."""
    chosen = [kind for name, kind in _TYPE_FLAGS.items() if _flag(params, name)]
    bin_mode = int(_flag(params, "bin", ("1", "2")) or 0)
    if bin_mode:
        chosen.append(MessageType.BIN)
    bot = params.get("bot", "").strip()
    if bot:
        if bot.lower().startswith("wa:"):
            raise RequestError(RequestErrorCode.PARAMETERS, "WhatsApp bots are not provided")
        chosen.append(MessageType.TG)
    if _flag(params, "whatsapp"):
        raise RequestError(RequestErrorCode.PARAMETERS, "WhatsApp is not provided")
    kinds = set(chosen)
    if len(kinds) > 1:
        raise RequestError(RequestErrorCode.PARAMETERS, "more than one message type flag")
    return (kinds.pop() if kinds else None), bin_mode


def client_id(params: Mapping[str, str]) -> str:
    """The request id: absent, empty or 0 → "" (allocate); 1..2147483647 or ≤ 40 [A-Za-z0-9._-]."""
    value = params.get("id", "").strip()
    if value in ("", "0"):
        return ""
    if value.isdigit():
        if int(value) > MAX_CLIENT_ID:
            raise RequestError(RequestErrorCode.PARAMETERS, "id out of range")
        return str(int(value))
    if not _CLIENT_ID.match(value):
        raise RequestError(RequestErrorCode.PARAMETERS, "invalid id")
    return value


def parse_request(params: Mapping[str, str], raw: Mapping[str, bytes]) -> SendRequest:
    msg_type, bin_mode = _message_type(params)
    voice = params.get("voice", "").strip()
    if voice and not _VOICE.match(voice):
        raise RequestError(RequestErrorCode.PARAMETERS, "invalid voice")
    _flag(params, "tinyurl")  # 0 or 1 (http-api.md §2.1)
    maxsms = params.get("maxsms", "").strip()
    if maxsms and (not maxsms.isdigit() or int(maxsms) < 1):
        raise RequestError(RequestErrorCode.PARAMETERS, "maxsms must be a positive integer")
    options = {
        name: params[name].strip() for name in _OPTION_PARAMS if params.get(name, "").strip()
    }
    list_text = params.get("list")
    return SendRequest(
        phones=params.get("phones", ""),
        mes=params.get("mes", ""),
        mes_octets=raw.get("mes", b"") if bin_mode == 1 else b"",
        list_text=list_text if list_text and list_text.strip() else None,
        sender=params.get("sender"),
        msg_type=msg_type,
        bin_mode=bin_mode,
        translit=_int_param(params, "translit", 0, 2, 0),
        maxsms=int(maxsms) if maxsms else None,
        time=params.get("time", "").strip(),
        tz=params.get("tz"),
        period=params.get("period"),
        freq=params.get("freq"),
        valid=params.get("valid"),
        subj=params.get("subj", ""),
        nl=params.get("nl", "").strip() == "1",
        options=options,
    )


async def handle(ctx: CompatContext) -> Reply:
    params = ctx.params.values
    # ``tpl``: text, sender and type from a template (issue 7, http-api.md §9).
    sending, raw = await apply_template(ctx, params, ctx.params.raw)
    request = parse_request(sending, raw)
    cost = CostMode(_int_param(params, "cost", 0, 3, 0))
    files = _mail_files(ctx, request)
    options = SendOptions(
        client_id=client_id(params),
        cost=cost,
        test=_flag(params, "test") == "1" or _flag(params, "virtsms") == "1",
        fingerprint=request_fingerprint(ctx.path, _fingerprinted(params, files)),
        ip=ctx.ip,
    )
    if cost is not CostMode.PRICE:
        files += await _fetched_files(ctx, request)
        if files:
            request = await _with_attachments(ctx, request, options, files)
    result = await ctx.services.sending.send(ctx.account, request, options)
    if cost is CostMode.PRICE:
        # Limits come after validation (http-api.md §1.7); a price-only request stores nothing.
        await ctx.limit(ctx.services.settings.limits.cost_identical)
        # A stored send resets the failed-send run inside its own transaction; this one cannot.
        await ctx.services.guards.send_outcome(ctx.ip, ok=True)
    details = "all" if params.get("op") == "1" else "rejected" if params.get("err") == "1" else ""
    return SendReply(result, cost, details)


# --- e-mail attachments (issue 9) ---


def _is_mail(request: SendRequest) -> bool:
    """``mail=1`` (or a text starting with ``__MAIL__``); False when the type is contradictory
    (the send reports that)."""
    try:
        msg_type, _ = resolve_type(request.msg_type, request.mes)
    except ValueError:
        return False
    return msg_type == MessageType.MAIL


def _mail_files(ctx: CompatContext, request: SendRequest) -> list[MailAttachment]:
    """The files of a multipart mail request; other message types do not take uploaded files."""
    if not ctx.params.files or not _is_mail(request):
        return []
    return [MailAttachment(f.filename, f.content_type, f.data) for f in ctx.params.files]


async def _fetched_files(ctx: CompatContext, request: SendRequest) -> list[MailAttachment]:
    """The file at a mail request's ``fileurl``, fetched now (error 1 when it cannot be had). For
    mms and call, channels not built yet, ``fileurl`` stays a stored option."""
    url = request.options.get("fileurl")
    if not url or not _is_mail(request):
        return []
    return [await ctx.services.attachments.fetch(url)]


def _fingerprinted(params: Mapping[str, str], files: list[MailAttachment]) -> dict[str, str]:
    """The parameters that make two requests identical, the attached files' digests included."""
    fingerprinted = dict(params)
    if files:
        digests = (hashlib.sha256(f.data).hexdigest() for f in files)
        fingerprinted["\0files"] = ",".join(digests)
    return fingerprinted


async def _with_attachments(
    ctx: CompatContext, request: SendRequest, options: SendOptions, files: list[MailAttachment]
) -> SendRequest:
    """``request`` naming its files, stored first (they must exist before the messages that name
    them). A request the price-only pass refuses stores nothing: the send itself then reports the
    refusal, with the request id where the spec wants one."""
    try:
        await ctx.services.sending.send(ctx.account, request, replace(options, cost=CostMode.PRICE))
    except RequestError:
        return request
    ids = await ctx.services.attachments.store(ctx.account, files)
    stored = {**request.options, ATTACHMENTS_OPTION: format_attachment_ids(ids)}
    return replace(request, options=stored)


def _id_value(request_id: str) -> int | str:
    return int(request_id) if request_id.isdigit() else request_id


def _detail_fields(r: Recipient) -> list[tuple[str, str]]:
    return [
        ("phone", r.phone),
        ("mccmnc", r.mccmnc),
        ("cost", display(r.cost)),
        ("status", str(int(r.status)) if r.status is not None else ""),
        ("error", str(r.err) if r.status is not None else ""),
    ]


@dataclass(frozen=True, slots=True)
class SendReply:
    """Success and price-only layouts (http-api.md §2.6–2.9)."""

    result: SendResult
    cost_mode: CostMode
    details: str  # "", "all" (op=1) or "rejected" (err=1)

    def _listed(self) -> list[list[tuple[str, str]]]:
        if not self.details:
            return []
        chosen = self.result.recipients
        if self.details == "rejected":
            chosen = tuple(r for r in chosen if not r.accepted)
        return [_detail_fields(r) for r in chosen]

    def _head(self) -> list[tuple[str, str | int]]:
        """(name, value) of the summary in its fixed order; money already formatted."""
        res = self.result
        if self.cost_mode is CostMode.PRICE:
            return [("cost", display(res.cost)), ("cnt", res.parts)]
        head: list[tuple[str, str | int]] = [
            ("id", _id_value(res.request_id or "")),
            ("cnt", res.parts),
        ]
        if self.cost_mode in (CostMode.SEND_COST, CostMode.SEND_COST_BALANCE):
            head.append(("cost", display(res.cost)))
        if self.cost_mode is CostMode.SEND_COST_BALANCE and res.balance is not None:
            head.append(("balance", display(res.balance)))
        if res.voice_code is not None:
            head.append(("code", res.voice_code))
        return head

    def render(self, fmt: int) -> str:
        head, listed = self._head(), self._listed()
        if fmt == 3:
            data: dict[str, object] = dict(head)
            if listed:
                data["phones"] = [dict(fields) for fields in listed]
            return to_json(data)
        if fmt == 2:
            order = ["cost", "cnt"] if self.cost_mode is CostMode.PRICE else ["cnt", "id"]
            ordered = [(k, v) for k in order for k2, v in head if k2 == k]
            ordered += [(k, v) for k, v in head if k not in order]
            inner = "".join(xml_element(k, v) for k, v in ordered)
            if listed:
                items = "".join(
                    "<item>" + "".join(xml_element(k, v) for k, v in fields) + "</item>"
                    for fields in listed
                )
                inner += f"<phones>{items}</phones>"
            return f"<result>{inner}</result>"
        lines = [self._text_head(fmt, dict(head))]
        for fields in listed:
            if fmt == 1:
                lines.append(",".join(v for _, v in fields))
            else:
                lines.append(", ".join(f"{k} = {v}" for k, v in fields))
        return "\n".join(lines)

    def _text_head(self, fmt: int, head: dict[str, str | int]) -> str:
        if self.cost_mode is CostMode.PRICE:
            if fmt == 1:
                return f"{head['cost']},{head['cnt']}"
            return f"{head['cost']} ({head['cnt']} SMS)"
        if fmt == 1:
            return ",".join(str(v) for v in head.values())
        text = f"OK - {head['cnt']} SMS, ID - {head['id']}"
        for key, label in (("cost", "COST"), ("balance", "BALANCE"), ("code", "CODE")):
            if key in head:
                text += f", {label} - {head[key]}"
        return text
