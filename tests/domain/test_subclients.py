"""Sub-client policies: fmts, tmlim, deferral and refusals of apply_policy (http-api.md §7, §2.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from smsgate.domain.codes import ErrCode, MessageStatus, MessageType
from smsgate.domain.sending import PreparedSend, Recipient
from smsgate.domain.subclient_settings import SubclientSettings, merge_flags, split_settings
from smsgate.domain.subclients import (
    DailyCounts,
    HourWindow,
    Policy,
    PolicyError,
    Prefixes,
    ShareType,
    apply_policy,
    day_start,
    parse_fmts,
    parse_tmlim,
    window_start,
)

# 2025-11-24 16:00:00 UTC = 19:00 in Moscow.
NOW = datetime(2025, 11, 24, 16, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("fmts", "phone", "allowed"),
    [
        ("", "79161234567", True),
        ("7", "79161234567", True),
        ("7", "380501234567", False),
        ("7,-77", "77011234567", False),
        ("7,-77", "79161234567", True),
        ("-7", "79161234567", False),
        ("-7", "380501234567", True),
        ("+7, 380", "380501234567", True),
    ],
)
def test_fmts(fmts: str, phone: str, allowed: bool) -> None:
    assert parse_fmts(fmts).allows(phone) is allowed


@pytest.mark.parametrize("bad", ["7a", "x", "--7", "7,,-"])
def test_fmts_refuses_what_is_not_a_prefix(bad: str) -> None:
    with pytest.raises(PolicyError):
        parse_fmts(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("9-18", HourWindow(9, 18)),
        ("22-6", HourWindow(22, 6)),
        ("0-24", HourWindow(0, 24)),
    ],
)
def test_tmlim(text: str, expected: HourWindow | None) -> None:
    assert parse_tmlim(text) == expected


@pytest.mark.parametrize("bad", ["9", "9-9", "24-1", "9-25", "a-b", "9:00-18:00"])
def test_tmlim_refuses(bad: str) -> None:
    with pytest.raises(PolicyError):
        parse_tmlim(bad)


@pytest.mark.parametrize(
    ("window", "tz_minutes", "expected_local_hour", "same_moment"),
    [
        (HourWindow(9, 21), 0, 19, True),  # 19:00 Moscow is inside 9-21
        (HourWindow(9, 18), 0, 9, False),  # next 09:00 Moscow
        (HourWindow(22, 6), 0, 22, False),  # wraps midnight: waits for 22:00
        (HourWindow(9, 18), -120, 17, True),  # 17:00 in UTC+1 is inside
    ],
)
def test_window_start(
    window: HourWindow, tz_minutes: int, expected_local_hour: int, same_moment: bool
) -> None:
    due = window_start(NOW, window, tz_minutes)
    assert (due == NOW) is same_moment
    local_hour = int(((due + 3 * 3600 + tz_minutes * 60) % 86400) // 3600)
    assert local_hour == expected_local_hour
    assert due >= NOW


def test_day_start_is_local_midnight() -> None:
    start = day_start(NOW, 0)
    assert NOW - start == 19 * 3600  # 19:00 Moscow


def _recipient(phone: str, text: str = "Hi") -> Recipient:
    return Recipient(phone=phone, text=text, parts=1, encoding=0, cost=Decimal("2.5"), due_at=NOW)


def _prepared(*phones: str) -> PreparedSend:
    return PreparedSend(
        msg_type=MessageType.SMS,
        sender=None,
        comment=None,
        recipients=tuple(_recipient(p) for p in phones),
        valid=timedelta(hours=24),
        options=None,
    )


A, B, C = "79161234567", "79261234567", "79031234567"


@pytest.mark.parametrize(
    ("policy", "counts", "phones", "user_ip", "errs"),
    [
        (Policy(), DailyCounts(), (A, B), False, [0, 0]),
        (Policy(dlim=2), DailyCounts(total=1), (A, B, C), False, [0, 247, 247]),
        (Policy(dlim=3), DailyCounts(), (A, B, C), False, [0, 0, 0]),
        (Policy(plim=1), DailyCounts(per_phone={B: 1}), (A, B), False, [0, 247]),
        (Policy(tlim=2), DailyCounts(per_phone_text={(A, "Hi"): 2}), (A, B), False, [247, 0]),
        (Policy(tlim=2), DailyCounts(per_phone_text={(A, "Ho"): 5}), (A,), False, [0]),
        (Policy(ilim=1), DailyCounts(per_ip=0), (A, B), True, [0, 247]),
        (Policy(ilim=1), DailyCounts(per_ip=5), (A, B), False, [0, 0]),  # no userip: no ilim
        (Policy(fmts=Prefixes(("7",), ("7916",))), DailyCounts(), (A, B), False, [250, 0]),
        (Policy(flags=frozenset({"fl[6]"})), DailyCounts(), (A, B), False, [244, 244]),
        (Policy(flags=frozenset({"fl2[23]"})), DailyCounts(), (A,), False, [0]),
        (
            Policy(tmlim=HourWindow(9, 18), flags=frozenset({"fl2[15]"})),
            DailyCounts(),
            (A,),
            False,
            [246],
        ),
    ],
)
def test_apply_policy(
    policy: Policy, counts: DailyCounts, phones: tuple[str, ...], user_ip: bool, errs: list[int]
) -> None:
    shaped = apply_policy(_prepared(*phones), policy, counts, 0, user_ip=user_ip)
    assert [r.err for r in shaped.recipients] == errs
    for r in shaped.recipients:
        if r.err:
            assert r.status == MessageStatus.PROHIBITED
            assert r.cost == 0
    assert shaped.cost == Decimal("2.5") * errs.count(0)


def test_outside_hours_without_fl2_15_waits_for_the_window() -> None:
    shaped = apply_policy(_prepared(A), Policy(tmlim=HourWindow(9, 18)), DailyCounts(), 0)
    (r,) = shaped.recipients
    assert r.accepted
    assert r.due_at == window_start(NOW, HourWindow(9, 18), 0) > NOW


def test_rejected_recipients_stay_rejected() -> None:
    prepared = _prepared(A)
    invalid = Recipient(
        phone="1",
        text="",
        parts=0,
        encoding=0,
        cost=Decimal(0),
        due_at=NOW,
        status=MessageStatus.WRONG_NUMBER,
        err=ErrCode.INVALID_NUMBER,
    )
    prepared = PreparedSend(
        prepared.msg_type, None, None, (invalid, *prepared.recipients), prepared.valid, None
    )
    shaped = apply_policy(prepared, Policy(dlim=1), DailyCounts(), 0)
    assert [r.err for r in shaped.recipients] == [249, 0]


@pytest.mark.parametrize(
    ("share", "main_balance", "main_tariff"),
    [(0, False, False), (1, False, True), (2, True, True), (3, True, False), (4, True, True)],
)
def test_share_types(share: int, main_balance: bool, main_tariff: bool) -> None:
    assert ShareType(share).uses_main_balance is main_balance
    assert ShareType(share).uses_main_tariff is main_tariff


@pytest.mark.parametrize(
    ("settings", "account", "policy"),
    [
        (SubclientSettings(tz="15"), {"tz_minutes": 0}, {}),
        (SubclientSettings(tz="14"), {"tz_minutes": -60}, {}),
        (SubclientSettings(tariff="3", curr="2"), {"tariff_plan": 3, "currency": "USD"}, {}),
        (SubclientSettings(url=""), {"callback_url": None}, {}),
        (SubclientSettings(share_type="2"), {}, {"share_type": 2}),
        (
            SubclientSettings(limits={"dlim": "5", "plim": "0", "tlim": ""}),
            {},
            {"dlim": 5, "plim": None, "tlim": None},
        ),
        (SubclientSettings(tmlim="9-18", fmts="7,-77"), {}, {"tmlim": "9-18", "fmts": "7,-77"}),
        (
            SubclientSettings(flags={"fl2[10]": True, "fl2[27]": False}),
            {"disabled": True, "test_mode": False},
            {},
        ),
    ],
)
def test_split_settings(
    settings: SubclientSettings, account: dict[str, object], policy: dict[str, object]
) -> None:
    split = split_settings(settings)
    assert split.account == account
    assert split.policy == policy


@pytest.mark.parametrize(
    "settings",
    [
        SubclientSettings(password="short"),
        SubclientSettings(tz="25"),
        SubclientSettings(tariff="9"),
        SubclientSettings(curr="6"),
        SubclientSettings(share_type="5"),
        SubclientSettings(url="ftp://x"),
        SubclientSettings(limits={"dlim": "-1"}),
        SubclientSettings(tmlim="25-1"),
        SubclientSettings(flags={"fl[x]": True}),
        SubclientSettings(profile={"fio": "x" * 1001}),
    ],
)
def test_split_settings_refuses(settings: SubclientSettings) -> None:
    with pytest.raises(PolicyError):
        split_settings(settings)


def test_merge_flags() -> None:
    assert merge_flags('["fl[1]", "fl[29]"]', {"fl[1]": False, "fl2[15]": True}) == (
        '["fl2[15]", "fl[29]"]'
    )
