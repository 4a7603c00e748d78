"""A send request, checked and priced: the pure half of send.php (http-api.md §2, protocols.md §1).

:func:`prepare` turns what a client asked for into the messages to store, without any I/O: the text
pipeline (prefix → comment → binary pid/dcs → transliteration → ``maxsms`` → encoding and parts),
recipients (numbers checked against the numbering plan, duplicates sent once), the schedule
(``time``/``tz``, ``period``/``freq`` batches, ``valid``) and the price of each recipient. Every
refusal is a :class:`SendError` carrying its SMSC request error; the sending service adds the request
id where the spec wants one and does the storing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from smsgate.domain import message_text as mt
from smsgate.domain.codes import ErrCode, MessageStatus, MessageType, RequestErrorCode
from smsgate.domain.contacts import BlacklistKind, GroupMembers
from smsgate.domain.links import LinkSlot, LinkStyle, shorten, whole_slots
from smsgate.domain.numbering import NumberingPlan
from smsgate.domain.phones import RecipientList, TokenKind, parse_email_list, parse_phones
from smsgate.domain.pricing import TariffTable, message_cost
from smsgate.domain.segments import Encoding, count_parts, truncate_to_parts
from smsgate.domain.smsc_time import (
    Spread,
    parse_send_time,
    parse_spread,
    parse_tz,
    parse_valid,
)
from smsgate.domain.translit import translit

# Stored ``encoding`` values.
ENCODING_GSM7, ENCODING_UCS2, ENCODING_BINARY = 0, 1, 2
# Types whose text is split into SMS parts and counted as such (http-api.md §2.3 ``cnt``).
PART_COUNTED = frozenset({MessageType.SMS, MessageType.FLASH})
# Types whose text is ignored.
TEXTLESS = frozenset({MessageType.HLR, MessageType.PING})
HLR_SENDER = "HLR"


class SendError(ValueError):
    """A refused send request; ``code`` is the SMSC request error (codes.md §1)."""

    def __init__(self, code: RequestErrorCode, detail: str) -> None:
        super().__init__(f"error {int(code)}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SendRequest:
    """What a client asked for, already split into typed fields by its ingress."""

    phones: str = ""
    mes: str = ""
    # Percent-decoded octets of ``mes`` before charset decoding, for ``bin=1``.
    mes_octets: bytes = b""
    list_text: str | None = None
    sender: str | None = None
    msg_type: MessageType | None = None
    bin_mode: int = 0
    translit: int = 0
    maxsms: int | None = None
    time: str = ""
    tz: str | None = None
    period: str | None = None
    freq: str | None = None
    valid: str | None = None
    subj: str = ""
    nl: bool = False
    # The account's auto-signature (templates.php ``fl[1]``), appended to SMS and flash texts.
    signature: str = ""
    # Channel options stored with each message (voice, param, fileurl, bot, smsreq, tinyurl …).
    options: Mapping[str, str] = field(default_factory=dict)
    # A mailing (jobs.php) is a mass sending whatever the number of recipients (§2.5).
    mass: bool = False
    # ``tinyurl=1``: URLs become short links of this style (domain/links.py); None leaves them.
    short_links: LinkStyle | None = None


@dataclass(frozen=True, slots=True)
class AccountTerms:
    """The parts of an account that shape a send."""

    tz_minutes: int
    tariff_plan: int
    test_mode: bool


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient with its message; ``status`` is set when it was rejected at acceptance."""

    phone: str
    text: str
    parts: int
    encoding: int
    cost: Decimal
    due_at: float
    country: str | None = None
    operator: str | None = None
    operator_orig: str | None = None
    region: str | None = None
    mccmnc: str = ""
    status: MessageStatus | None = None
    err: int = 0
    # Short links in ``text`` whose codes are minted when the message is stored (``tinyurl=1``).
    links: tuple[LinkSlot, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.status is None


@dataclass(frozen=True, slots=True)
class PreparedSend:
    msg_type: MessageType
    sender: str | None
    comment: str | None
    recipients: tuple[Recipient, ...]
    valid: timedelta
    options: str | None
    voice_code: str | None = None
    mass: bool = False
    # Totals over the accepted recipients, worked out once in __post_init__.
    accepted: tuple[Recipient, ...] = field(init=False)
    parts: int = field(init=False)
    cost: Decimal = field(init=False)

    def __post_init__(self) -> None:
        accepted = tuple(r for r in self.recipients if r.accepted)
        object.__setattr__(self, "accepted", accepted)
        object.__setattr__(self, "parts", sum(r.parts for r in accepted))
        object.__setattr__(self, "cost", sum((r.cost for r in accepted), Decimal(0)))


def resolve_type(flag_type: MessageType | None, mes: str) -> tuple[MessageType, str]:
    """The message type from the flag and a prefix of ``mes`` (protocols.md §1.2)."""
    prefixed, rest = mt.split_prefix(mes)
    if prefixed is None:
        return flag_type or MessageType.SMS, mes
    if flag_type is not None and flag_type != prefixed:
        raise SendError(RequestErrorCode.PARAMETERS, "prefix contradicts the type flag")
    return prefixed, rest


@dataclass(frozen=True, slots=True)
class AccountLists:
    """The account's contact groups named by the request and its blacklist (http-api.md §6).

    ``groups`` maps each ``G<n>`` of the request that exists for the account to its members; a
    reference missing here is "group not found". ``blacklist`` maps numbers to their entry kind.
    """

    groups: Mapping[int, GroupMembers] = field(default_factory=dict)
    blacklist: Mapping[str, BlacklistKind] = field(default_factory=dict)


NO_LISTS = AccountLists()


def prepare(
    request: SendRequest,
    terms: AccountTerms,
    plan: NumberingPlan,
    tariffs: TariffTable,
    now: datetime,
    voice_code: Callable[[], str],
    lists: AccountLists = NO_LISTS,
) -> PreparedSend:
    """Check, schedule and price ``request``; raises :class:`SendError`.

    ``G<n>`` references expand to the members of ``lists.groups`` (each number sent once per
    request); numbers in ``lists.blacklist`` for this kind of request are rejected with status 23,
    err 250 and cost 0 (http-api.md §2.5).
    """
    try:
        return _prepare(request, terms, plan, tariffs, now, voice_code, lists)
    except (mt.TextError, ValueError) as exc:
        if isinstance(exc, SendError):
            raise
        code = getattr(exc, "code", RequestErrorCode.PARAMETERS)
        raise SendError(code, str(exc)) from exc


def _prepare(
    request: SendRequest,
    terms: AccountTerms,
    plan: NumberingPlan,
    tariffs: TariffTable,
    now: datetime,
    voice_code: Callable[[], str],
    lists: AccountLists,
) -> PreparedSend:
    msg_type, mes = resolve_type(request.msg_type, request.mes)
    subject = request.subj
    if msg_type == MessageType.MAIL and not subject and mes != request.mes:
        # ``__MAIL__`` without ``subj``: the first line is the subject (protocols.md §1.2).
        subject, mes = mt.split_mail_subject(mes)
    options = dict(request.options)
    code: str | None = None
    comment: str | None = None
    if request.list_text is None:
        mes, comment = mt.split_comment(mes)
        if comment is not None:
            comment = mt.truncate_comment(comment)
    if msg_type not in TEXTLESS and msg_type != MessageType.BIN:
        # ≤ 1000 characters after prefix and comment removal, before transliteration (§2.1).
        mt.check_mes_length(mes, mail=msg_type == MessageType.MAIL)
    if msg_type == MessageType.CALL and mt.is_voice_code_request(mes):
        code = voice_code()
        mes = code
    if msg_type == MessageType.BIN:
        mes = _binary_text(request, options)
    texts = _recipient_texts(request, msg_type, mes, plan, lists.groups)
    tz = parse_tz(request.tz, terms.tz_minutes)
    start = parse_send_time(request.time, tz, now) or now
    spread = parse_spread(request.period, request.freq)
    valid = parse_valid(request.valid)
    if msg_type == MessageType.MAIL:
        if not subject:
            raise SendError(RequestErrorCode.PARAMETERS, "subj is required for mail")
        options["subj"] = subject
    due = _release_times(len(texts), start, spread)
    # A request with more than one recipient is a mass mailing (http-api.md §2.5).
    mass = len(texts) > 1 or request.mass
    pricer = _Pricer(msg_type, request, terms, plan, tariffs, lists.blacklist, mass)
    recipients = tuple(
        _recipient(phone, text, pricer, due_at)
        for (phone, text), due_at in zip(texts, due, strict=True)
    )
    sender = HLR_SENDER if msg_type == MessageType.HLR else request.sender
    return PreparedSend(
        msg_type=msg_type,
        sender=sender,
        comment=comment,
        recipients=recipients,
        valid=valid,
        options=json.dumps(options, ensure_ascii=False, sort_keys=True) if options else None,
        voice_code=code,
        mass=mass,
    )


def _binary_text(request: SendRequest, options: dict[str, str]) -> str:
    """``bin=1/2``: the octets (UDH + payload) as hex, with pid and dcs among the options."""
    raw = request.mes_octets or request.mes.encode("latin-1", "replace")
    text, settings = mt.split_comment(raw.decode("latin-1"))
    payload = mt.parse_bin(text.encode("latin-1"), request.bin_mode or 1, settings)
    options.update({"pid": str(payload.pid), "dcs": str(payload.dcs)})
    return (payload.udh + payload.payload).hex()


def _recipient_texts(
    request: SendRequest,
    msg_type: MessageType,
    mes: str,
    plan: NumberingPlan,
    groups: Mapping[int, GroupMembers],
) -> list[tuple[str, str]]:
    """(recipient, text) pairs in request order, duplicates removed; invalid recipients kept with
    an empty text so that they can be reported (status 22)."""
    if request.list_text is not None:
        pairs = _list_pairs(request.list_text, request.nl, msg_type, plan, groups)
    else:
        recipients = _parse_recipients(request.phones, msg_type, plan, groups)
        pairs = [(phone, mes) for phone in recipients]
    if not pairs:
        if groups:  # an empty expansion counts as no valid recipient (http-api.md §2.2)
            raise SendError(RequestErrorCode.INVALID_PHONE, "no recipients in the groups")
        raise SendError(RequestErrorCode.PARAMETERS, "no recipients")
    return pairs


_INVALID = "\0invalid:"


def _parse_recipients(
    text: str, msg_type: MessageType, plan: NumberingPlan, groups: Mapping[int, GroupMembers]
) -> list[str]:
    """Recipients in request order, groups expanded in place, each recipient once; an invalid one
    is marked so that it is reported, not sent. A group the account does not have is error 1."""
    parsed = _parse_list(text, msg_type, plan)
    recipients: dict[str, None] = {}
    for token in parsed.tokens:
        if token.kind is TokenKind.VALID:
            recipients[token.value] = None
        elif token.kind is TokenKind.INVALID:
            recipients[_INVALID + (token.raw.strip() or "?")] = None
        elif token.kind is TokenKind.GROUP:
            members = groups.get(int(token.value))
            if members is None:
                raise SendError(RequestErrorCode.PARAMETERS, "group not found")
            recipients.update(dict.fromkeys(_members(members, msg_type, plan)))
    return list(recipients)


def _members(members: GroupMembers, msg_type: MessageType, plan: NumberingPlan) -> list[str]:
    """A group's recipients for this type: addresses for mail, numbers otherwise (numbers are
    checked against the plan in use, which may have changed since they were stored)."""
    if msg_type == MessageType.MAIL:
        return list(members.mails)
    return [phone if plan.is_valid(phone) else _INVALID + phone for phone in members.phones]


def _parse_list(text: str, msg_type: MessageType, plan: NumberingPlan) -> RecipientList:
    if msg_type == MessageType.MAIL:
        return parse_email_list(text)
    return parse_phones(text, plan.is_valid)


def _list_pairs(
    text: str,
    nl: bool,
    msg_type: MessageType,
    plan: NumberingPlan,
    groups: Mapping[int, GroupMembers],
) -> list[tuple[str, str]]:
    """``list``: lines ``<phones>:<text>``; the first ``:`` ends the phone part (http-api.md §2.2)."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        phones, colon, body = line.partition(":")
        if not colon:
            raise SendError(RequestErrorCode.PARAMETERS, "list line without ':'")
        if nl:
            body = body.replace("\\n", "\n")
        mt.check_mes_length(body, mail=msg_type == MessageType.MAIL)
        for phone in _parse_recipients(phones, msg_type, plan, groups):
            if phone not in seen:
                seen.add(phone)
                pairs.append((phone, body))
    return pairs


def _release_times(count: int, start: datetime, spread: Spread | None) -> list[float]:
    """When each recipient becomes due: ``start``, or its ``period``/``freq`` batch (§2.4)."""
    if spread is None:
        return [start.timestamp()] * count
    times: list[float] = []
    for size, release_at in spread.batches(count, start):
        times.extend([release_at.timestamp()] * size)
    return times


# Types whose URLs ``tinyurl=1`` leaves alone: no text, octets, the push URL itself, speech.
UNLINKED = TEXTLESS | {MessageType.BIN, MessageType.PUSH, MessageType.CALL}


def _final_text(
    text: str, msg_type: MessageType, request: SendRequest
) -> tuple[str, tuple[LinkSlot, ...]]:
    """The text as sent and its short links (http-api.md §2.3: template and auto-signature →
    transliteration → short links → encoding and segment count)."""
    if msg_type in TEXTLESS:
        return "", ()
    if msg_type == MessageType.BIN:
        return text, ()
    if request.signature and msg_type in PART_COUNTED:
        text = f"{text} {request.signature}"
    if request.translit:
        text = translit(text, request.translit)
    slots: tuple[LinkSlot, ...] = ()
    if request.short_links is not None and msg_type not in UNLINKED:
        text, slots = shorten(text, request.short_links)
    if msg_type in PART_COUNTED and request.maxsms:
        text = truncate_to_parts(text, request.maxsms)
        slots = whole_slots(text, slots)
    mt.check_not_empty(text)
    if msg_type == MessageType.PUSH:
        mt.parse_push(text)
    return text, slots


@dataclass(slots=True)
class _Pricer:
    """Texts and prices of one request, each worked out once: a 1,000-number request mostly
    repeats one text and a handful of operators."""

    msg_type: MessageType
    request: SendRequest
    terms: AccountTerms
    plan: NumberingPlan
    tariffs: TariffTable
    blacklist: Mapping[str, BlacklistKind]
    mass: bool
    texts: dict[str, tuple[str, int, int, tuple[LinkSlot, ...]]] = field(default_factory=dict)
    prices: dict[tuple[str | None, str | None], Decimal | None] = field(default_factory=dict)

    def text(self, text: str) -> tuple[str, int, int, tuple[LinkSlot, ...]]:
        """(final text, parts, stored encoding, short links)."""
        known = self.texts.get(text)
        if known is None:
            final, slots = _final_text(text, self.msg_type, self.request)
            known = self.texts[text] = (final, *_parts(final, self.msg_type), slots)
        return known

    def price(self, country: str | None, operator: str | None) -> Decimal | None:
        key = (country, operator)
        if key not in self.prices:
            self.prices[key] = self.tariffs.price(
                country=country,
                operator=operator,
                msg_type=self.msg_type,
                plan=self.terms.tariff_plan,
            )
        return self.prices[key]


def _recipient(phone: str, text: str, pricer: _Pricer, due_at: float) -> Recipient:
    if phone.startswith(_INVALID):
        return Recipient(
            phone=phone[len(_INVALID) :],
            text="",
            parts=0,
            encoding=ENCODING_GSM7,
            cost=Decimal(0),
            due_at=due_at,
            status=MessageStatus.WRONG_NUMBER,
            err=ErrCode.INVALID_NUMBER,
        )
    final, parts, encoding, links = pricer.text(text)
    info = pricer.plan.lookup(phone) if pricer.msg_type != MessageType.MAIL else None
    country = info.country if info else None
    operator = info.operator if info else None
    price = pricer.price(country, operator)
    status: MessageStatus | None = None
    err = 0
    listed = pricer.blacklist.get(phone)
    if listed is not None and listed.blocks(pricer.mass):
        status, err = MessageStatus.PROHIBITED, ErrCode.NUMBER_FORBIDDEN_BY_SETTINGS
    elif price is None:  # nothing to sell it by: no route for this type and destination
        status, err = MessageStatus.UNAVAILABLE, ErrCode.NO_ROUTE
    return Recipient(
        phone=phone,
        text=final,
        parts=parts,
        encoding=encoding,
        cost=message_cost(price, parts) if price is not None and status is None else Decimal(0),
        due_at=due_at,
        country=country,
        operator=operator,
        operator_orig=info.operator_orig if info else None,
        region=info.region if info else None,
        mccmnc=f"{info.mcc}{info.mnc}" if info and info.mcc else "",
        status=status,
        err=err,
        links=links,
    )


def _parts(text: str, msg_type: MessageType) -> tuple[int, int]:
    """(count, stored encoding) per http-api.md §2.3 ``cnt``."""
    if msg_type == MessageType.BIN:
        return 1, ENCODING_BINARY
    if msg_type not in PART_COUNTED:
        encoding = ENCODING_GSM7 if count_parts(text).encoding is Encoding.GSM7 else ENCODING_UCS2
        return 1, encoding
    info = count_parts(text)
    return info.parts, ENCODING_GSM7 if info.encoding is Encoding.GSM7 else ENCODING_UCS2


def summarise(recipients: Sequence[Recipient]) -> RequestErrorCode:
    """The request error when no recipient was accepted (http-api.md §2.5): 7 if all were invalid
    numbers, 6 if all were forbidden (23), else 8."""
    statuses = {r.status for r in recipients}
    if statuses == {MessageStatus.WRONG_NUMBER}:
        return RequestErrorCode.INVALID_PHONE
    if statuses == {MessageStatus.PROHIBITED}:
        return RequestErrorCode.FORBIDDEN
    return RequestErrorCode.CANNOT_DELIVER
