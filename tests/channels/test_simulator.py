"""The built-in operator simulator (channels/simulator.py; issue 4, codes.md §3.1)."""

from __future__ import annotations

import collections
import random

import pytest

from smsgate.channels.base import Accepted, DeliveryState, HlrResult, OutgoingMessage, Receipt
from smsgate.channels.simulator import (
    VISITED_NETWORKS,
    SimulatorChannel,
    SimulatorSettings,
    decide,
    hlr_answer,
    simulate,
)
from smsgate.channels.simulator_rules import DEFAULT_RULES, Outcome, parse_rules
from smsgate.domain.codes import ErrCode, MessageType
from smsgate.domain.numbering import NumberingPlan, NumberRange
from tests.support.clock import ManualClock

DELIVRD, UNDELIV = DeliveryState.DELIVERED, DeliveryState.UNDELIVERABLE
PLAN = NumberingPlan([NumberRange(916, 0, 9999999, "МТС", "г. Москва и МО", "250", "01")])
MAIL_RULES = parse_rules(
    "*@unknown.example=undeliv:1, *@full.example=undeliv:2,"
    " *@nomx.example=undeliv:3, *@blocked.example=undeliv:4"
)


def message(
    id: int = 1,
    phone: str = "79161234567",
    msg_type: int = MessageType.SMS,
    parts: int = 1,
    test: bool = False,
) -> OutgoingMessage:
    return OutgoingMessage(id, phone, msg_type, None, "hello", parts, 0, None, test)


def receipts(
    item: OutgoingMessage,
    settings: SimulatorSettings | None = None,
    plan: NumberingPlan | None = None,
) -> list[Receipt]:
    return [receipt for _, receipt in simulate(item, settings or SimulatorSettings(), plan)]


def outcome(receipt: Receipt) -> tuple[DeliveryState, int]:
    return receipt.state, receipt.err


# --- the channel and the default rules (tests/dispatch/test_worker.py relies on these) -----------


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("79161234567", [(DELIVRD, 0)]),
        ("79161234560", [(UNDELIV, ErrCode.NO_SUBSCRIBER)]),
        ("79161234568", [(UNDELIV, ErrCode.SUBSCRIBER_OFFLINE)]),
        ("79161234569", []),
    ],
)
async def test_default_rules_after_the_latency(
    phone: str, expected: list[tuple[DeliveryState, int]]
) -> None:
    clock = ManualClock()
    channel = SimulatorChannel(clock, SimulatorSettings(latency_s=2.0))
    assert await channel.submit([message(7, phone)]) == [Accepted("sim-7")]
    assert channel.due_receipts(clock.now() + 1.99) == []
    await clock.advance(2)
    assert [outcome(r) for r in channel.due_receipts(clock.now())] == expected
    assert channel.pending_receipts() == 0


async def test_one_receipt_per_part_each_returned_once() -> None:
    clock = ManualClock()
    channel = SimulatorChannel(clock)
    await channel.submit([message(1, parts=3), message(2, "79161234560", parts=2)])
    assert channel.pending_receipts() == 5
    due = channel.due_receipts(clock.now())
    assert [(r.provider_id, *outcome(r)) for r in due] == [
        ("sim-1", DELIVRD, 0),
        ("sim-1", DELIVRD, 0),
        ("sim-1", DELIVRD, 0),
        ("sim-2", UNDELIV, 1),
        ("sim-2", UNDELIV, 1),
    ]
    assert channel.due_receipts(clock.now()) == []


async def test_submitted_is_the_operator_log_duplicates_included() -> None:
    clock = ManualClock()
    channel = SimulatorChannel(clock)
    assert channel.name == "simulator"
    await channel.submit([message(3), message(1)])
    await channel.submit([message(3)])
    assert channel.submitted == [3, 1, 3]
    assert SimulatorChannel(clock, name="sim-b").name == "sim-b"


async def test_receipts_come_out_in_time_order() -> None:
    clock = ManualClock()
    settings = SimulatorSettings(latency_s=5.0, rules=parse_rules("*1=deliver@1, *2=deliver@3"))
    channel = SimulatorChannel(clock, settings)
    await channel.submit([message(1, "79160000005"), message(2, "79160000002")])
    await channel.submit([message(3, "79160000001")])
    assert [r.provider_id for r in channel.due_receipts(clock.now() + 1)] == ["sim-3"]
    assert [r.provider_id for r in channel.due_receipts(clock.now() + 5)] == ["sim-2", "sim-1"]


# --- test mode (protocols.md §1.5) --------------------------------------------------------------


@pytest.mark.parametrize("phone", ["79161234567", "79161234560", "79161234569"])
async def test_test_mode_is_delivered_with_err_200_after_test_delay(phone: str) -> None:
    clock = ManualClock()
    channel = SimulatorChannel(clock, SimulatorSettings(latency_s=9.0, test_delay_s=1.0))
    await channel.submit([message(1, phone, parts=2, test=True)])
    assert channel.due_receipts(clock.now() + 0.5) == []
    due = channel.due_receipts(clock.now() + 1)
    assert [outcome(r) for r in due] == [(DELIVRD, ErrCode.VIRTUAL)] * 2


def test_test_mode_hlr_has_plan_fields_only() -> None:
    item = message(msg_type=MessageType.HLR, test=True)
    (with_plan,) = receipts(item, plan=PLAN)
    assert outcome(with_plan) == (DELIVRD, ErrCode.VIRTUAL)
    assert with_plan.hlr == HlrResult("", "", "250", "01", "Россия", "МТС", "", "")
    (without_plan,) = receipts(item)
    assert without_plan.hlr == HlrResult("", "", "", "", "", "", "", "")


def test_test_mode_call_bills_nothing() -> None:
    (receipt,) = receipts(message(msg_type=MessageType.CALL, test=True))
    assert (receipt.state, receipt.err, receipt.billed_seconds) == (DELIVRD, 200, 0)


# --- rule kinds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("*=expire", [(DeliveryState.EXPIRED, 0)]),
        ("*=expire:27", [(DeliveryState.EXPIRED, 27)]),
        ("*=reject", [(DeliveryState.REJECTED, 0)]),
        ("*=roaming", [(DELIVRD, 0)]),
        ("*=undeliv:11", [(UNDELIV, 11)]),
        ("*=silent", []),
        ("*=deliver", [(DELIVRD, 0)]),
    ],
)
def test_each_outcome_kind(rules: str, expected: list[tuple[DeliveryState, int]]) -> None:
    settings = SimulatorSettings(rules=parse_rules(rules))
    assert [outcome(r) for r in receipts(message(), settings)] == expected


def test_a_deliver_rule_beats_the_ratio_and_rule_order_matters() -> None:
    settings = SimulatorSettings(
        delivery_ratio=0.0, rules=parse_rules("*7=deliver, 7916*=undeliv:13")
    )
    assert [outcome(r) for r in receipts(message(phone="79161234567"), settings)] == [(DELIVRD, 0)]
    assert [outcome(r) for r in receipts(message(phone="79161234566"), settings)] == [(UNDELIV, 13)]
    assert receipts(message(phone="79261234566"), settings)[0].state is UNDELIV  # the ratio


def test_a_rule_delay_replaces_latency_and_jitter() -> None:
    settings = SimulatorSettings(
        latency_s=10, latency_jitter_s=5, rules=parse_rules("*7=deliver@0.5")
    )
    assert [delay for delay, _ in simulate(message(parts=3), settings)] == [0.5, 0.5, 0.5]


def test_latency_jitter_stays_within_bounds_and_never_below_zero() -> None:
    settings = SimulatorSettings(latency_s=1.0, latency_jitter_s=2.0)
    delays = [d for i in range(500) for d, _ in simulate(message(i, parts=2), settings)]
    assert all(0.0 <= d <= 3.0 for d in delays)
    assert min(delays) == 0.0 and len(set(delays)) > 100


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="delivery_ratio"):
        SimulatorSettings(delivery_ratio=1.5)
    with pytest.raises(ValueError, match="latency_s"):
        SimulatorSettings(latency_s=-1)
    with pytest.raises(ValueError, match="latency_jitter_s"):
        SimulatorSettings(latency_jitter_s=float("nan"))
    assert SimulatorSettings(rules=list(DEFAULT_RULES)).rules == DEFAULT_RULES


# --- the delivery ratio and determinism ---------------------------------------------------------


def test_ratio_is_honoured_over_ten_thousand_messages() -> None:
    """Binomial(10 000, 0.8): sd 40, so ±200 is five standard deviations."""
    settings = SimulatorSettings(delivery_ratio=0.8, seed=42, rules=())
    errs = collections.Counter(
        receipts(message(i, f"7916{i:07d}"), settings)[0].err for i in range(10_000)
    )
    assert abs(errs[0] - 8000) <= 200
    assert set(errs) - {0} <= {6, 11, 12, 13, 21}
    assert errs.most_common(2)[1][0] == ErrCode.SUBSCRIBER_OFFLINE  # the likeliest failure


@pytest.mark.parametrize(
    ("msg_type", "errs"),
    [
        (MessageType.SMS, {6, 11, 12, 13, 21}),
        (MessageType.CALL, {237, 240}),
        (MessageType.MAIL, {2, 4}),
        (MessageType.VIBER, {1, 13}),
        (MessageType.TG, {1, 13}),
    ],
)
def test_ratio_failures_are_plausible_for_the_type(msg_type: int, errs: set[int]) -> None:
    settings = SimulatorSettings(delivery_ratio=0.0, rules=())
    seen = {receipts(message(i, msg_type=msg_type), settings)[0] for i in range(300)}
    assert {r.state for r in seen} == {UNDELIV}
    assert {r.err for r in seen} == errs


def test_ratio_extremes() -> None:
    for ratio, state in ((1.0, DELIVRD), (0.0, UNDELIV)):
        settings = SimulatorSettings(delivery_ratio=ratio, rules=())
        assert {receipts(message(i), settings)[0].state for i in range(200)} == {state}


async def test_same_seed_same_outcomes_and_times_whatever_the_submission_order() -> None:
    settings = SimulatorSettings(latency_s=3, latency_jitter_s=2, delivery_ratio=0.5, seed=7)
    batch = [message(i, f"7916{i:07d}", parts=1 + i % 3) for i in range(1, 201)]

    async def run(order: list[OutgoingMessage], batch_size: int) -> list[tuple[float, Receipt]]:
        clock = ManualClock()
        channel = SimulatorChannel(clock, settings)
        for start in range(0, len(order), batch_size):
            await channel.submit(order[start : start + batch_size])
        due: list[tuple[float, Receipt]] = []
        while (at := channel.next_receipt_at()) is not None:
            due += [(at, r) for r in channel.due_receipts(at)]
        return sorted(due, key=lambda item: (item[0], item[1].provider_id))

    shuffled = batch[:]
    random.Random(1).shuffle(shuffled)
    first = await run(batch, 200)
    assert first == await run(shuffled, 7)
    assert {r.state for _, r in first} == {DELIVRD, UNDELIV}


def test_another_seed_changes_outcomes() -> None:
    def states(seed: int) -> list[DeliveryState]:
        settings = SimulatorSettings(delivery_ratio=0.5, seed=seed, rules=())
        return [receipts(message(i), settings)[0].state for i in range(100)]

    assert states(1) == states(1)
    assert states(1) != states(2)


def test_decide_uses_the_first_rule_before_the_ratio() -> None:
    settings = SimulatorSettings(delivery_ratio=0.0)
    verdict = decide(message(phone="79161234560"), settings, random.Random(0))
    assert (verdict.outcome, verdict.err, verdict.delay_s) == (Outcome.UNDELIV, 1, None)


# --- HLR (type 4) -------------------------------------------------------------------------------


def test_hlr_answer_shape_with_a_plan() -> None:
    (receipt,) = receipts(message(msg_type=MessageType.HLR, parts=2), plan=PLAN)
    assert outcome(receipt) == (DELIVRD, 0)
    hlr = receipt.hlr
    assert hlr is not None
    assert len(hlr.imsi) == 15 and hlr.imsi.isdigit() and hlr.imsi.startswith("25001")
    assert len(hlr.msc) == 11 and hlr.msc.isdigit() and hlr.msc.startswith("7916")
    assert (hlr.mcc, hlr.mnc, hlr.cn, hlr.net, hlr.rcn, hlr.rnet) == (
        "250",
        "01",
        "Россия",
        "МТС",
        "",
        "",
    )


def test_hlr_without_a_plan_answers_as_the_test_network() -> None:
    (receipt,) = receipts(message(msg_type=MessageType.HLR))
    assert receipt.hlr is not None
    assert (receipt.hlr.mcc, receipt.hlr.mnc, receipt.hlr.net) == ("001", "01", "Test Network")
    assert receipt.hlr.imsi.startswith("00101") and len(receipt.hlr.imsi) == 15


def test_hlr_identity_is_the_same_for_the_same_number_only() -> None:
    info = PLAN.lookup("79161234567")
    same = {hlr_answer("79161234567", info) for _ in range(3)}
    assert len(same) == 1
    other_seed = SimulatorSettings(seed=99)
    again = receipts(message(5, msg_type=MessageType.HLR), other_seed, PLAN)[0].hlr
    assert again == same.pop()
    imsis = {hlr_answer(f"7916{i:07d}", info).imsi for i in range(1000)}
    mscs = {hlr_answer(f"7916{i:07d}", info).msc for i in range(1000)}
    assert len(imsis) == 1000 and 2 <= len(mscs) <= 16


def test_hlr_roaming_names_a_visited_network() -> None:
    settings = SimulatorSettings(rules=parse_rules("*=roaming"))
    (receipt,) = receipts(message(msg_type=MessageType.HLR), settings, PLAN)
    hlr = receipt.hlr
    assert hlr is not None and (hlr.cn, hlr.net) == ("Россия", "МТС")
    visited = {(cn, net): prefix for cn, net, prefix in VISITED_NETWORKS}
    assert hlr.msc.startswith(visited[hlr.rcn, hlr.rnet]) and len(hlr.msc) == 11


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("79161234560", (UNDELIV, ErrCode.NO_SUBSCRIBER)),  # unknown subscriber: no HLR data
        ("79161234568", (DELIVRD, ErrCode.SUBSCRIBER_OFFLINE)),  # answered, subscriber absent
    ],
)
def test_hlr_failures_follow_codes_3_1(phone: str, expected: tuple[DeliveryState, int]) -> None:
    (receipt,) = receipts(message(phone=phone, msg_type=MessageType.HLR), plan=PLAN)
    assert outcome(receipt) == expected
    assert (receipt.hlr is not None) == (expected[0] is DELIVRD)


def test_hlr_silent_number_gets_no_receipt_and_ratio_failures_are_answers() -> None:
    assert receipts(message(phone="79161234569", msg_type=MessageType.HLR)) == []
    settings = SimulatorSettings(delivery_ratio=0.0, rules=())
    seen = {receipts(message(i, msg_type=MessageType.HLR), settings)[0] for i in range(100)}
    assert {(r.state, r.err) for r in seen} == {(DELIVRD, 6), (DELIVRD, 13)}
    assert all(r.hlr is not None for r in seen)


# --- voice, e-mail, Viber, Telegram -------------------------------------------------------------


def test_answered_calls_bill_one_to_sixty_seconds() -> None:
    billed = {
        receipts(message(i, msg_type=MessageType.CALL, parts=2))[0].billed_seconds
        for i in range(1, 500, 10)
    }
    assert billed <= set(range(1, 61)) and len(billed) > 10
    assert receipts(message(msg_type=MessageType.SMS))[0].billed_seconds is None


@pytest.mark.parametrize(("err", "name"), [(237, "no answer"), (240, "busy")])
def test_unanswered_calls_bill_nothing(err: int, name: str) -> None:
    settings = SimulatorSettings(rules=parse_rules(f"*=undeliv:{err}"))
    (receipt,) = receipts(message(msg_type=MessageType.CALL), settings)
    assert (receipt.state, receipt.err, receipt.billed_seconds) == (UNDELIV, err, 0), name


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("anna@example.com", (DELIVRD, 0)),
        ("anna@unknown.example", (UNDELIV, 1)),
        ("ANNA@FULL.example", (UNDELIV, 2)),
        ("anna@nomx.example", (UNDELIV, 3)),
        ("anna@blocked.example", (UNDELIV, 4)),
    ],
)
def test_mail_outcomes(address: str, expected: tuple[DeliveryState, int]) -> None:
    settings = SimulatorSettings(rules=(*MAIL_RULES, *DEFAULT_RULES))
    item = message(phone=address, msg_type=MessageType.MAIL, parts=3)
    assert [outcome(r) for r in receipts(item, settings)] == [expected]


@pytest.mark.parametrize("msg_type", [MessageType.VIBER, MessageType.TG])
@pytest.mark.parametrize(
    ("recipient", "expected"),
    [("79161234567", (DELIVRD, 0)), ("79161234561", (UNDELIV, 1)), ("@blocker", (UNDELIV, 13))],
)
def test_messenger_outcomes(
    msg_type: int, recipient: str, expected: tuple[DeliveryState, int]
) -> None:
    settings = SimulatorSettings(rules=parse_rules("*1=undeliv:1, @block*=undeliv:13"))
    item = message(phone=recipient, msg_type=msg_type)
    assert [outcome(r) for r in receipts(item, settings)] == [expected]
