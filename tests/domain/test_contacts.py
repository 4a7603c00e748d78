"""Contacts, groups and the blacklist: the pure rules (http-api.md §6, §2.5) and G<n> expansion in
the pure half of send.php."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources

import pytest

from smsgate.domain.codes import ErrCode, MessageStatus, MessageType, RequestErrorCode
from smsgate.domain.contacts import (
    BlacklistKind,
    ContactError,
    GroupMembers,
    contact_values,
    group_refs,
    parse_birthday,
    parse_group_num,
    parse_ids,
    request_group_refs,
    split_fio,
)
from smsgate.domain.numbering import NumberingPlan, is_plausible, parse_registry
from smsgate.domain.pricing import TariffRule, TariffTable
from smsgate.domain.sending import AccountLists, AccountTerms, SendError, SendRequest, prepare

MTS, MEGAFON, BEELINE = "79161234567", "79261234567", "79031234567"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TERMS = AccountTerms(tz_minutes=0, tariff_plan=0, test_mode=False)
TARIFFS = TariffTable([TariffRule(price=Decimal("2.50"))])


@pytest.fixture(scope="module")
def plan() -> NumberingPlan:
    text = resources.files("smsgate.data").joinpath("numbering-demo.csv").read_text("utf-8-sig")
    return NumberingPlan(parse_registry(text.splitlines()))


@pytest.mark.parametrize(
    ("kind", "mass", "blocked"),
    [
        (BlacklistKind.ALL, False, True),
        (BlacklistKind.ALL, True, True),
        (BlacklistKind.MASS, False, False),
        (BlacklistKind.MASS, True, True),
        (BlacklistKind.SINGLE, False, True),
        (BlacklistKind.SINGLE, True, False),
    ],
)
def test_blacklist_kinds(kind: BlacklistKind, mass: bool, blocked: bool) -> None:
    assert kind.blocks(mass) is blocked


@pytest.mark.parametrize(
    ("fio", "names"),
    [
        ("Petrov Ivan Sergeevich", ("Petrov", "Ivan", "Sergeevich")),
        ("  Petrov   Ivan ", ("Petrov", "Ivan", "")),
        ("Petrov Ivan Sergeevich Jr", ("Petrov", "Ivan", "Sergeevich")),
        ("", ("", "", "")),
    ],
)
def test_split_fio(fio: str, names: tuple[str, str, str]) -> None:
    assert split_fio(fio) == names


@pytest.mark.parametrize(
    ("text", "stored"), [("1.2.1990", "01.02.1990"), (" 29.02.2024 ", "29.02.2024"), ("", "")]
)
def test_birthday(text: str, stored: str) -> None:
    assert parse_birthday(text) == stored


@pytest.mark.parametrize("text", ["29.02.2023", "1990-02-01", "01.02.90", "32.01.2000", "x"])
def test_invalid_birthday(text: str) -> None:
    with pytest.raises(ContactError):
        parse_birthday(text)


def test_group_nums_and_ids() -> None:
    assert parse_group_num("") is None
    assert parse_group_num("007") == 7
    assert parse_group_num("9" * 18) == 10**18 - 1
    for bad in ("1" * 19, "-1", "x", "١"):
        with pytest.raises(ContactError):
            parse_group_num(bad)
    assert parse_ids("3;1,3\n2", "grp") == (3, 1, 2)
    for bad in ("0", "x", str(2**31)):
        with pytest.raises(ContactError):
            parse_ids(bad, "grp")


def test_group_refs() -> None:
    assert group_refs("79161234567,89261234567") == ()
    assert group_refs("G12, g012;79161234567\nG 7") == (12, 7)
    assert request_group_refs("G1", None) == (1,)
    assert request_group_refs("G1", "G2,G3:hi\nno colon G4\nG2:again") == (2, 3)


def test_contact_values() -> None:
    given = {"phone": "8 916 123-45-67", "mail": "A@B.RU", "fio": "P I S", "mnm": "X", "bd": ""}
    assert contact_values(given, is_plausible) == {
        "phone": MTS,
        "mail": "A@b.ru",
        "lnm": "P",
        "fnm": "I",
        "mnm": "X",
        "bd": "",
    }
    assert contact_values({"new_phone": ""}, is_plausible, phone_key="new_phone") == {"phone": None}
    for bad in ({"phone": "G1"}, {"phone": f"{MTS},{MEGAFON}"}, {"mail": "x"}, {"cmt": "x" * 1001}):
        with pytest.raises(ContactError):
            contact_values(bad, is_plausible)


# --- expansion in the pure half of send.php --------------------------------------------------------

LISTS = AccountLists(
    groups={
        12: GroupMembers(phones=(MTS, MEGAFON, "79001234567"), mails=("a@x.ru",)),
        5: GroupMembers(),
    },
    blacklist={MEGAFON: BlacklistKind.ALL, BEELINE: BlacklistKind.SINGLE},
)


def run(
    plan: NumberingPlan, request: SendRequest, lists: AccountLists = LISTS
) -> list[tuple[str, object, int]]:
    sent = prepare(request, TERMS, plan, TARIFFS, NOW, lambda: "0042", lists)
    return [(r.phone, r.status, r.err) for r in sent.recipients]


def test_group_members_are_expanded_in_place_once(plan: NumberingPlan) -> None:
    recipients = run(plan, SendRequest(phones=f"{BEELINE},G12,{MTS}", mes="x"))
    assert recipients == [
        (BEELINE, None, 0),  # single-message entry, but this request is a mass mailing
        (MTS, None, 0),
        (MEGAFON, MessageStatus.PROHIBITED, ErrCode.NUMBER_FORBIDDEN_BY_SETTINGS),
        ("79001234567", MessageStatus.WRONG_NUMBER, ErrCode.INVALID_NUMBER),
    ]


def test_single_message_entry(plan: NumberingPlan) -> None:
    assert run(plan, SendRequest(phones=BEELINE, mes="x")) == [
        (BEELINE, MessageStatus.PROHIBITED, ErrCode.NUMBER_FORBIDDEN_BY_SETTINGS)
    ]


def test_mail_uses_the_addresses(plan: NumberingPlan) -> None:
    request = SendRequest(phones="G12", mes="x", msg_type=MessageType.MAIL, subj="s")
    assert run(plan, request) == [("a@x.ru", None, 0)]


def test_missing_and_empty_groups(plan: NumberingPlan) -> None:
    with pytest.raises(SendError) as missing:
        run(plan, SendRequest(phones="G13", mes="x"))
    assert missing.value.code is RequestErrorCode.PARAMETERS
    with pytest.raises(SendError) as empty:
        run(plan, SendRequest(phones="G5", mes="x"))
    assert empty.value.code is RequestErrorCode.INVALID_PHONE
    assert run(plan, SendRequest(phones=f"G5,{MTS}", mes="x")) == [(MTS, None, 0)]


def test_rejected_recipients_cost_nothing(plan: NumberingPlan) -> None:
    sent = prepare(SendRequest(phones="G12", mes="x"), TERMS, plan, TARIFFS, NOW, str, LISTS)
    assert sent.cost == Decimal("2.50") and sent.parts == 1
    assert [r.cost for r in sent.recipients] == [Decimal("2.50"), Decimal(0), Decimal(0)]
