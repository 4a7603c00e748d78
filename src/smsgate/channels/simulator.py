"""The built-in operator simulator: the embedded default route, so that everything runs with no outside
network (issue 4).

Every message is accepted (``sim-<id>``); what the simulated network then reports is decided by
``simulate``, a pure function of the settings, the numbering plan and the message:

1. Test mode (protocols.md §1.5): DELIVRD err 200 after ``test_delay_s`` — an HLR request carries
   mcc/mnc/cn/net from the plan and nothing else, a call bills 0 seconds (codes.md §3.1 "test mode").
2. Otherwise the first ``OutcomeRule`` matching the recipient decides (``simulator_rules``; by default
   numbers ending in 0 → UNDELIV err 1, in 9 → silence, in 8 → UNDELIV err 6).
3. A recipient no rule matches is delivered with probability ``delivery_ratio``; the rest fail with a
   plausible err for the message type (``RATIO_FAILURES``).

The verdict then takes the message type's shape (codes.md §3.1 rows in brackets):

- SMS, flash, binary, WAP-push, ping, MMS, social: one receipt per part ["DLR DELIVRD/UNDELIV"].
- HLR (4): one receipt. Answered → DELIVRD with an ``HlrResult``; an err 6 (absent) or 13 (barred)
  verdict is still an answer, DELIVRD with that err; any other failure (err 1: unknown subscriber) is
  UNDELIV without HLR data ["HLR: answered … / unknown subscriber"].
- Voice call (7): one receipt. Answered → DELIVRD with ``billed_seconds`` 1–60; failures (237 no
  answer, 240 busy by default) bill 0 ["call: answered / no answer / busy"].
- E-mail (8), Viber (10), Telegram (13): one receipt, DELIVRD or UNDELIV with the verdict's err
  ["e-mail: 5xx …", "Telegram/Viber: …"].

Silence produces no receipt; the dispatcher ends such messages 3/245 ("no final result").

Determinism: each message draws from its own ``random.Random`` seeded with (``seed``, message id),
so a message's outcome, latency and billed seconds do not depend on what else was submitted or in
which order. HLR identities (IMSI, MSC, visited network) depend on the number alone.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import blake2b

from smsgate.channels.base import (
    Accepted,
    DeliveryState,
    HlrResult,
    OutgoingMessage,
    Receipt,
    SubmitOutcome,
)
from smsgate.channels.simulator_log import HandoverLog
from smsgate.channels.simulator_rules import DEFAULT_RULES, Outcome, OutcomeRule, first_match
from smsgate.clock import Clock
from smsgate.domain.codes import ErrCode, MessageType
from smsgate.domain.numbering import NumberInfo, NumberingPlan

NAME = "simulator"

# The ITU-T E.212 test network, answered for numbers the plan cannot place with an operator.
TEST_MCC, TEST_MNC, TEST_NET = "001", "01", "Test Network"
IMSI_DIGITS = 15
MSC_DIGITS = 11
MSCS_PER_NETWORK = 16
MAX_CALL_S = 60

# Types that get one receipt whatever their part count (a result, not a text): codes.md §4.1.
RESULT_TYPES = frozenset(
    {MessageType.HLR, MessageType.CALL, MessageType.MAIL, MessageType.VIBER, MessageType.TG}
)

# (err, weight) for a message the delivery ratio fails, by type (codes.md §3 and §3.1).
_SMS_FAILURES: tuple[tuple[int, int], ...] = (
    (ErrCode.SUBSCRIBER_OFFLINE, 6),
    (ErrCode.NO_SMS_SERVICE, 1),
    (ErrCode.HANDSET_ERROR, 1),
    (ErrCode.SUBSCRIBER_BLOCKED, 1),
    (ErrCode.SERVICE_NOT_SUPPORTED, 1),
)
RATIO_FAILURES: dict[int, tuple[tuple[int, int], ...]] = {
    MessageType.HLR: ((ErrCode.SUBSCRIBER_OFFLINE, 3), (ErrCode.SUBSCRIBER_BLOCKED, 1)),
    MessageType.CALL: ((ErrCode.NO_ANSWER, 2), (ErrCode.BUSY, 1)),
    MessageType.MAIL: ((ErrCode.MAILBOX_FULL, 1), (ErrCode.MAILBOX_BLOCKED, 1)),
    MessageType.VIBER: ((ErrCode.NO_SUBSCRIBER, 2), (ErrCode.SUBSCRIBER_BLOCKED, 1)),
    MessageType.TG: ((ErrCode.NO_SUBSCRIBER, 2), (ErrCode.SUBSCRIBER_BLOCKED, 1)),
}
# HLR errs that still come with an answer (codes.md §3.1: subscriber absent 6, barred 13).
_HLR_ANSWERED_ERRS = frozenset({ErrCode.SUBSCRIBER_OFFLINE, ErrCode.SUBSCRIBER_BLOCKED})

# ``cn`` for a country of the plan's look-up (ISO 3166-1 alpha-2); other countries show the code.
COUNTRY_NAMES = {
    "RU": "Россия",
    "KZ": "Казахстан",
    "BY": "Беларусь",
    "UA": "Украина",
    "UZ": "Узбекистан",
    "KG": "Киргизия",
    "TJ": "Таджикистан",
    "AM": "Армения",
    "AZ": "Азербайджан",
    "GE": "Грузия",
    "MD": "Молдова",
    "TR": "Турция",
    "DE": "Германия",
    "AE": "ОАЭ",
    "TH": "Таиланд",
}
# Visited networks of roaming subscribers: (rcn, rnet, E.164 prefix of its switches).
VISITED_NETWORKS: tuple[tuple[str, str, str], ...] = (
    ("Турция", "Turkcell", "90532"),
    ("Казахстан", "Beeline", "7705"),
    ("Германия", "Vodafone", "49172"),
    ("ОАЭ", "Etisalat", "97150"),
    ("Таиланд", "AIS", "6681"),
)

_STATES = {
    Outcome.DELIVER: DeliveryState.DELIVERED,
    Outcome.ROAMING: DeliveryState.DELIVERED,
    Outcome.UNDELIV: DeliveryState.UNDELIVERABLE,
    Outcome.EXPIRE: DeliveryState.EXPIRED,
    Outcome.REJECT: DeliveryState.REJECTED,
}


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """How the simulated network behaves.

    ``latency_s`` is the mean delay of a receipt, spread uniformly by ± ``latency_jitter_s`` (never
    below 0); ``delivery_ratio`` the share of recipients no rule matches that are delivered;
    ``test_delay_s`` the delay of test-mode receipts (protocols.md §1.5 ``test.delay``); ``seed``
    makes every outcome reproducible; ``rules`` are tried in order (``simulator_rules``).
    Construction raises ``ValueError`` naming the bad field.
    """

    latency_s: float = 0.0
    latency_jitter_s: float = 0.0
    delivery_ratio: float = 1.0
    test_delay_s: float = 1.0
    seed: int = 0
    rules: Sequence[OutcomeRule] = DEFAULT_RULES

    def __post_init__(self) -> None:
        for name in ("latency_s", "latency_jitter_s", "test_delay_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: {value} is not a number of seconds >= 0")
        if not 0.0 <= self.delivery_ratio <= 1.0:
            raise ValueError(f"delivery_ratio: {self.delivery_ratio} is not within 0..1")
        object.__setattr__(self, "rules", tuple(self.rules))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the network does with one message: a rule's or the ratio's outcome, before its type
    gives it a shape. ``delay_s`` None means the settings' latency."""

    outcome: Outcome
    err: int = ErrCode.NONE
    delay_s: float | None = None


ScheduledReceipt = tuple[float, Receipt]
"""A receipt and its delay in seconds after the hand-over."""


def simulate(
    message: OutgoingMessage, settings: SimulatorSettings, plan: NumberingPlan | None = None
) -> list[ScheduledReceipt]:
    """The receipts the simulated network sends for ``message`` (module docstring), with delays.

    Pure: the same settings, plan and message always give the same list.
    """
    rng = random.Random(f"smsgate-simulator/{settings.seed}/{message.id}")
    provider_id = provider_id_for(message)
    if message.test:
        return [(settings.test_delay_s, r) for r in _test_receipts(message, provider_id, plan)]
    verdict = decide(message, settings, rng)
    if verdict.outcome is Outcome.SILENT:
        return []
    msg_type = message.msg_type
    count = 1 if msg_type in RESULT_TYPES else max(message.parts, 1)
    state = _STATES[verdict.outcome]
    receipts: list[Receipt]
    if msg_type == MessageType.HLR:
        receipts = [_hlr_receipt(message.phone, provider_id, verdict, plan)]
    elif msg_type == MessageType.CALL:
        answered = state is DeliveryState.DELIVERED
        billed = rng.randint(1, MAX_CALL_S) if answered else 0
        receipts = [Receipt(provider_id, state, verdict.err, billed_seconds=billed)]
    else:
        receipts = [Receipt(provider_id, state, verdict.err)] * count
    return [(_delay(verdict, settings, rng), receipt) for receipt in receipts]


def decide(message: OutgoingMessage, settings: SimulatorSettings, rng: random.Random) -> Verdict:
    """The first matching rule's outcome; with none, delivered with probability
    ``delivery_ratio``, else UNDELIV with a weighted err from ``RATIO_FAILURES`` for the type."""
    rule = first_match(settings.rules, message.phone)
    if rule is not None:
        return Verdict(rule.outcome, rule.err, rule.delay_s)
    if rng.random() < settings.delivery_ratio:
        return Verdict(Outcome.DELIVER)
    failures = RATIO_FAILURES.get(message.msg_type, _SMS_FAILURES)
    errs, weights = zip(*failures, strict=True)
    return Verdict(Outcome.UNDELIV, rng.choices(errs, weights)[0])


def provider_id_for(message: OutgoingMessage) -> str:
    """The id receipts name the message by."""
    return f"sim-{message.id}"


def hlr_answer(phone: str, info: NumberInfo | None, *, roaming: bool = False) -> HlrResult:
    """A plausible HLR answer for ``phone``, the same every time for the same number.

    mcc/mnc/net come from the plan's look-up; a number it cannot place with an operator is answered
    as the ITU test network (001-01). The IMSI is MCC + MNC + MSIN up to 15 digits; the MSC is one of
    ``MSCS_PER_NETWORK`` 11-digit switch addresses under the first four digits of the number (the
    home network) or, when roaming, under the prefix of a visited network, which fills rcn/rnet.
    """
    if info is not None and info.mcc and info.mnc:
        mcc, mnc, net = info.mcc, info.mnc, info.operator
    else:
        mcc, mnc, net = TEST_MCC, TEST_MNC, TEST_NET
    number = _digest(f"subscriber/{phone}")
    msin_digits = IMSI_DIGITS - len(mcc) - len(mnc)
    imsi = f"{mcc}{mnc}{number % 10**msin_digits:0{msin_digits}d}"
    rcn = rnet = ""
    prefix = "".join(c for c in phone if c.isdigit())[:4]
    if roaming:
        rcn, rnet, prefix = VISITED_NETWORKS[number % len(VISITED_NETWORKS)]
    msc = _msc(prefix, number // 10**msin_digits % MSCS_PER_NETWORK)
    return HlrResult(imsi, msc, mcc, mnc, _country(info), net, rcn, rnet)


def virtual_hlr_answer(info: NumberInfo | None) -> HlrResult:
    """An HLR answer in test mode: mcc/mnc/cn/net from the plan, the rest empty (protocols.md §1.5)."""
    if info is None:
        return HlrResult("", "", "", "", "", "")
    return HlrResult("", "", info.mcc, info.mnc, _country(info), info.operator)


class SimulatorChannel:
    """The simulator as a ``Channel``: accepts every message and schedules its receipts on the clock.

    ``submitted`` is the operator's log: every message id handed over, in order (a message handed over
    twice shows up twice, and gets the same receipts again). ``plan`` places numbers for HLR answers.
    """

    def __init__(
        self,
        clock: Clock,
        settings: SimulatorSettings | None = None,
        *,
        plan: NumberingPlan | None = None,
        name: str = NAME,
        log: HandoverLog | None = None,
    ) -> None:
        self.clock = clock
        self.settings = settings or SimulatorSettings()
        self.plan = plan
        self.name = name
        self.submitted: list[int] = []
        self._held: dict[int, str] = {}
        self._pending: list[tuple[float, int, Receipt]] = []
        self._order = itertools.count()
        self._log = log
        if log is not None:  # what this operator already holds survives our restart
            self._accept(log.load(), self.clock.now())

    @property
    def available(self) -> bool:
        return True

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        """Accept every message of ``batch``; its receipts become due after their delays."""
        if self._log is not None:
            await asyncio.to_thread(self._log.append, batch)
        self.submitted.extend(message.id for message in batch)
        return self._accept(batch, self.clock.now())

    async def recover(self, message_ids: Sequence[int]) -> dict[int, str]:
        """The provider ids of those of ``message_ids`` this operator holds."""
        return {i: self._held[i] for i in message_ids if i in self._held}

    def _accept(self, batch: Sequence[OutgoingMessage], now: float) -> list[SubmitOutcome]:
        outcomes: list[SubmitOutcome] = []
        for message in batch:
            provider_id = provider_id_for(message)
            self._held[message.id] = provider_id
            outcomes.append(Accepted(provider_id))
            for delay_s, receipt in simulate(message, self.settings, self.plan):
                heapq.heappush(self._pending, (now + delay_s, next(self._order), receipt))
        return outcomes

    def due_receipts(self, now: float) -> list[Receipt]:
        """Receipts due by ``now``, earliest first (ties in submission order), each returned once."""
        due: list[Receipt] = []
        while self._pending and self._pending[0][0] <= now:
            due.append(heapq.heappop(self._pending)[2])
        return due

    def pending_receipts(self) -> int:
        """How many receipts are scheduled but not yet returned."""
        return len(self._pending)

    def next_receipt_at(self) -> float | None:
        """When the earliest scheduled receipt becomes due (wall-clock seconds), or None."""
        return self._pending[0][0] if self._pending else None


def _test_receipts(
    message: OutgoingMessage, provider_id: str, plan: NumberingPlan | None
) -> list[Receipt]:
    delivered, virtual = DeliveryState.DELIVERED, ErrCode.VIRTUAL
    if message.msg_type == MessageType.HLR:
        hlr = virtual_hlr_answer(_lookup(plan, message.phone))
        return [Receipt(provider_id, delivered, virtual, hlr=hlr)]
    if message.msg_type == MessageType.CALL:
        return [Receipt(provider_id, delivered, virtual, billed_seconds=0)]
    count = 1 if message.msg_type in RESULT_TYPES else max(message.parts, 1)
    return [Receipt(provider_id, delivered, virtual)] * count


def _hlr_receipt(
    phone: str, provider_id: str, verdict: Verdict, plan: NumberingPlan | None
) -> Receipt:
    answered = verdict.outcome in (Outcome.DELIVER, Outcome.ROAMING) or (
        verdict.outcome is Outcome.UNDELIV and verdict.err in _HLR_ANSWERED_ERRS
    )
    if not answered:
        return Receipt(provider_id, _STATES[verdict.outcome], verdict.err)
    roaming = verdict.outcome is Outcome.ROAMING
    hlr = hlr_answer(phone, _lookup(plan, phone), roaming=roaming)
    return Receipt(provider_id, DeliveryState.DELIVERED, verdict.err, hlr=hlr)


def _delay(verdict: Verdict, settings: SimulatorSettings, rng: random.Random) -> float:
    if verdict.delay_s is not None:
        return verdict.delay_s
    if not settings.latency_jitter_s:
        return settings.latency_s
    jitter = rng.uniform(-settings.latency_jitter_s, settings.latency_jitter_s)
    return max(0.0, settings.latency_s + jitter)


def _lookup(plan: NumberingPlan | None, phone: str) -> NumberInfo | None:
    return None if plan is None else plan.lookup(phone)


def _country(info: NumberInfo | None) -> str:
    if info is None:
        return ""
    return COUNTRY_NAMES.get(info.country, info.country)


def _msc(prefix: str, switch: int) -> str:
    fill = MSC_DIGITS - len(prefix)
    return f"{prefix}{_digest(f'msc/{prefix}/{switch}') % 10**fill:0{fill}d}"


def _digest(text: str) -> int:
    return int.from_bytes(blake2b(text.encode(), digest_size=16).digest(), "big")
