"""Route matching and failover order (pure)."""

from __future__ import annotations

from smsgate.domain.codes import MessageType
from smsgate.domain.routing import Route, RouteTable

SMS, HLR = int(MessageType.SMS), int(MessageType.HLR)


def test_no_routes_means_the_default_connector() -> None:
    assert RouteTable([], "simulator").connectors(SMS, "79161234567", "RU", "MTS", 1) == [
        "simulator"
    ]


def test_no_routes_sends_a_type_with_its_own_default_there() -> None:
    mail = int(MessageType.MAIL)
    table = RouteTable([], "simulator", type_defaults={mail: "email"})
    assert table.connectors(mail, "ivan@example.ru", None, None, 1) == ["email"]
    assert table.connectors(SMS, "79161234567", "RU", "MTS", 1) == ["simulator"]
    # Once routes exist they alone decide, for e-mail too.
    routed = RouteTable([Route(1, "simulator")], "simulator", type_defaults={mail: "email"})
    assert routed.connectors(mail, "ivan@example.ru", None, None, 1) == ["simulator"]


def test_matches_in_position_order_without_repeats() -> None:
    table = RouteTable(
        [
            Route(30, "backup"),
            Route(10, "mts-direct", country="RU", operator="MTS"),
            Route(20, "ru-hub", country="RU"),
            Route(25, "mts-direct", prefix="7916"),
            Route(5, "hlr", msg_type=HLR),
            Route(1, "vip", account_id=42),
        ],
        "simulator",
    )
    assert table.connectors(SMS, "79161234567", "RU", "MTS", 1) == [
        "mts-direct",
        "ru-hub",
        "backup",
    ]
    assert table.connectors(HLR, "79161234567", "RU", "MTS", 1)[0] == "hlr"
    assert table.connectors(SMS, "4915112345678", "DE", None, 42) == ["vip", "backup"]


def test_no_match_is_no_route() -> None:
    table = RouteTable([Route(10, "ru-hub", country="RU")], "simulator")
    assert table.connectors(SMS, "4915112345678", "DE", None, 1) == []
