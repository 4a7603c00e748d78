"""Operator template matching and the 238 check (http-api.md §9)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from smsgate.domain.codes import MessageStatus, MessageType
from smsgate.domain.sending import PreparedSend, Recipient
from smsgate.domain.templates import check_operator_templates, template_matches


@pytest.mark.parametrize(
    ("template", "text", "matches"),
    [
        ("Your code %", "Your code 1234", True),
        ("Your code %", "Your code ", False),  # trimmed: no space left before %
        ("Your code %", "Our code 1234", False),
        ("%", "anything at all", True),
        ("Order % is ready, total %", "Order 12 is ready, total 100 RUB", True),
        ("Order % is ready", "Order 12 is ready now", False),
        ("Hello  world", "Hello\n\tworld ", True),
        ("a%b%c", "axxbyyc", True),
        ("a%b%c", "axxbyy", False),
        ("%%%", "", True),
        ("exact", "exact", True),
        ("exact", "exactly", False),
        ("50%", "50 percent", True),
        ("a" + "%a" * 30 + "b", "a" * 200, False),  # no exponential backtracking
    ],
)
def test_template_matches(template: str, text: str, matches: bool) -> None:
    assert template_matches(template, text) is matches


def _recipient(operator: str | None, text: str) -> Recipient:
    return Recipient(
        phone="79161234567",
        text=text,
        parts=1,
        encoding=0,
        cost=Decimal(2),
        due_at=0.0,
        operator=operator,
    )


def test_check_operator_templates() -> None:
    prepared = PreparedSend(
        msg_type=MessageType.SMS,
        sender="Shop",
        comment=None,
        recipients=(
            _recipient("МТС", "Code 1"),
            _recipient("МТС", "Buy now"),
            _recipient("Билайн", "Buy now"),
        ),
        valid=timedelta(hours=1),
        options=None,
    )
    checked = check_operator_templates(prepared, {"МТС": "mts"}, {"mts": ["Code %"]})
    assert [(r.status, r.err) for r in checked.recipients] == [
        (None, 0),
        (MessageStatus.CANNOT_DELIVER, 238),
        (None, 0),
    ]
    assert checked.cost == Decimal(4)
