"""The pure half of send.php: types, texts, recipients, schedule, prices."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources

import pytest

from smsgate.domain.codes import ErrCode, MessageStatus, MessageType, RequestErrorCode
from smsgate.domain.numbering import NumberingPlan, parse_registry
from smsgate.domain.pricing import TariffRule, TariffTable
from smsgate.domain.sending import (
    AccountTerms,
    PreparedSend,
    SendError,
    SendRequest,
    prepare,
    resolve_type,
    summarise,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TERMS = AccountTerms(tz_minutes=0, tariff_plan=0, test_mode=False)
TARIFFS = TariffTable(
    [
        TariffRule(price=Decimal("2.50")),
        TariffRule(price=Decimal("0.50"), msg_type=MessageType.HLR),
    ]
)


@pytest.fixture(scope="module")
def plan() -> NumberingPlan:
    text = resources.files("smsgate.data").joinpath("numbering-demo.csv").read_text("utf-8-sig")
    return NumberingPlan(parse_registry(text.splitlines()))


def run(plan: NumberingPlan, **fields: object) -> PreparedSend:
    request = SendRequest(**fields)  # type: ignore[arg-type]  # test tables pass mixed field types
    return prepare(request, TERMS, plan, TARIFFS, NOW, lambda: "0042")


def test_plain_sms(plan: NumberingPlan) -> None:
    sent = run(plan, phones="+7 (916) 123-45-67, 89261234567; 79161234567", mes="Hello")
    assert [r.phone for r in sent.recipients] == ["79161234567", "79261234567"]
    assert sent.msg_type == MessageType.SMS and sent.parts == 2 and sent.cost == Decimal("5.00")
    first = sent.recipients[0]
    assert (first.country, first.mccmnc) == ("RU", "25001")
    assert first.due_at == NOW.timestamp()


def test_invalid_numbers_are_rejected_per_recipient(plan: NumberingPlan) -> None:
    sent = run(plan, phones="79161234567,12,abc", mes="x")
    rejected = [r for r in sent.recipients if not r.accepted]
    assert [(r.phone, r.status, r.err) for r in rejected] == [
        ("12", MessageStatus.WRONG_NUMBER, ErrCode.INVALID_NUMBER),
        ("abc", MessageStatus.WRONG_NUMBER, ErrCode.INVALID_NUMBER),
    ]
    assert summarise(rejected) is RequestErrorCode.INVALID_PHONE


def test_no_tariff_is_no_route(plan: NumberingPlan) -> None:
    sent = prepare(
        SendRequest(phones="79161234567", mes="x"), TERMS, plan, TariffTable([]), NOW, str
    )
    (r,) = sent.recipients
    assert (r.status, r.err) == (MessageStatus.UNAVAILABLE, ErrCode.NO_ROUTE)
    assert summarise(sent.recipients) is RequestErrorCode.CANNOT_DELIVER


@pytest.mark.parametrize(
    ("flag", "mes", "expected"),
    [
        (None, "__HLR__", MessageType.HLR),
        (MessageType.HLR, "__HLR__", MessageType.HLR),
        (None, " __HLR__", MessageType.SMS),
        (None, "__PING__x", MessageType.PING),
        (MessageType.FLASH, "hi", MessageType.FLASH),
    ],
)
def test_type_from_flag_and_prefix(
    flag: MessageType | None, mes: str, expected: MessageType
) -> None:
    assert resolve_type(flag, mes)[0] is expected


def test_prefix_contradicting_flag_is_error_1() -> None:
    with pytest.raises(SendError) as refused:
        resolve_type(MessageType.FLASH, "__HLR__")
    assert refused.value.code is RequestErrorCode.PARAMETERS


def test_hlr_ignores_text_and_is_sent_as_hlr(plan: NumberingPlan) -> None:
    sent = run(plan, phones="79161234567", mes="__HLR__whatever")
    assert sent.sender == "HLR" and sent.recipients[0].text == ""
    assert sent.cost == Decimal("0.50")


def test_comment_is_split_off_and_not_counted(plan: NumberingPlan) -> None:
    sent = run(plan, phones="79161234567", mes="a" * 160 + "\n~~~\nnote for me")
    assert sent.comment == "note for me" and sent.parts == 1


def test_list_gives_each_number_its_text(plan: NumberingPlan) -> None:
    sent = run(
        plan, list_text="79161234567: one: two\n\n79261234567,79031234567:three\\nfour", nl=True
    )
    assert [(r.phone, r.text) for r in sent.recipients] == [
        ("79161234567", " one: two"),
        ("79261234567", "three\nfour"),
        ("79031234567", "three\nfour"),
    ]


def test_voice_code(plan: NumberingPlan) -> None:
    sent = run(plan, phones="79161234567", mes="code", msg_type=MessageType.CALL)
    assert sent.voice_code == "0042" and sent.recipients[0].text == "0042"


def test_binary_message(plan: NumberingPlan) -> None:
    sent = run(
        plan, phones="79161234567", mes="0500030A0201 48 65\n~~~\npid: 0x7F, dcs: 245", bin_mode=2,
        msg_type=MessageType.BIN,
    )  # fmt: skip
    (r,) = sent.recipients
    assert r.text == "0500030a02014865" and r.parts == 1
    assert json.loads(sent.options or "{}") == {"pid": "127", "dcs": "245"}


def test_mail_needs_a_subject_and_takes_it_from_the_first_line(plan: NumberingPlan) -> None:
    with pytest.raises(SendError):
        run(plan, phones="a@example.com", mes="body", msg_type=MessageType.MAIL)
    sent = run(plan, phones="A@Example.com", mes="__MAIL__Subject line\nBody text")
    assert sent.msg_type == MessageType.MAIL
    assert [(r.phone, r.text) for r in sent.recipients] == [("A@example.com", "Body text")]
    assert json.loads(sent.options or "{}") == {"subj": "Subject line"}


def test_period_spreads_recipients_over_batches(plan: NumberingPlan) -> None:
    phones = ",".join(f"7916{n:07d}" for n in range(5))
    sent = run(plan, phones=phones, mes="x", period="1", freq="30")
    offsets = [r.due_at - NOW.timestamp() for r in sent.recipients]
    assert offsets == [0, 0, 1800, 1800, 3600]


def test_scheduled_time_and_validity(plan: NumberingPlan) -> None:
    sent = run(plan, phones="79161234567", mes="x", time="+90", valid="02:30")
    assert sent.recipients[0].due_at == NOW.timestamp() + 90 * 60
    assert sent.valid.total_seconds() == 2.5 * 3600


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"phones": "79161234567", "mes": ""}, RequestErrorCode.PARAMETERS),
        ({"phones": "79161234567", "mes": "x" * 1001}, RequestErrorCode.PARAMETERS),
        ({"phones": "", "mes": "x"}, RequestErrorCode.PARAMETERS),
        ({"phones": "G5", "mes": "x"}, RequestErrorCode.PARAMETERS),
        ({"phones": "79161234567", "mes": "x", "time": "99999999"}, RequestErrorCode.INVALID_DATE),
        ({"phones": "79161234567", "mes": "x", "valid": "25"}, RequestErrorCode.PARAMETERS),
    ],
)
def test_request_errors(
    plan: NumberingPlan, fields: dict[str, str], code: RequestErrorCode
) -> None:
    with pytest.raises(SendError) as refused:
        run(plan, **fields)
    assert refused.value.code is code


def test_translit_and_maxsms(plan: NumberingPlan) -> None:
    sent = run(plan, phones="79161234567", mes="Щука " * 100, translit=1, maxsms=2)
    (r,) = sent.recipients
    assert r.text.startswith("Schuka Schuka") and r.parts == 2 and len(r.text) <= 306
