"""Delivery receipt text: smsgate's exact form, and lenient reading of operators' forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.protocols.smpp.constants import MessageState
from smsgate.protocols.smpp.dlr import (
    DeliveryReceipt,
    ReceiptFormatError,
    ReceiptStat,
    format_receipt,
    parse_receipt,
)

MSK = timezone(timedelta(hours=3))


def test_smsgate_form() -> None:
    receipt = DeliveryReceipt(
        message_id="1234",
        stat=ReceiptStat.DELIVRD,
        err=0,
        dlvrd=1,
        submit_date=datetime(2025, 11, 24, 15, 30, tzinfo=MSK),
        done_date=datetime(2025, 11, 24, 15, 31, tzinfo=MSK),
        text="Hello world",
    )
    assert format_receipt(receipt) == (
        "id:1234 sub:001 dlvrd:001 submit date:2511241530 done date:2511241531 stat:DELIVRD "
        "err:000 text:Hello world"
    )
    assert parse_receipt(format_receipt(receipt), MSK) == receipt
    assert receipt.message_state is MessageState.DELIVERED


def test_hlr_form_percent_encodes_values() -> None:
    receipt = DeliveryReceipt(
        message_id="7",
        stat=ReceiptStat.DELIVRD,
        submit_date=datetime(2025, 1, 1, tzinfo=UTC),
        done_date=datetime(2025, 1, 1, tzinfo=UTC),
        hlr=(("imsi", "250011234567890"), ("net", "МТС Россия")),
    )
    text = format_receipt(receipt)
    assert text.endswith(
        "err:000 imsi:250011234567890 net:%D0%9C%D0%A2%D0%A1%20%D0%A0%D0%BE%D1%81%D1%81%D0%B8%D1%8F"
    )
    assert parse_receipt(text) == receipt


@pytest.mark.parametrize(
    "text",
    [
        "id:0A1B sub:001 dlvrd:001 submit date:2511241530 done date:251124153159 "
        "stat:delivrd err:0x0B Text:hi",
        "ID:0A1B SUB:1 DLVRD:1 SUBMIT_DATE:2511241530 DONE_DATE:251124153159 STAT:DELIVRD ERR:011 TEXT:hi",
    ],
)
def test_operator_variants(text: str) -> None:
    receipt = parse_receipt(text)
    assert (receipt.message_id, receipt.stat, receipt.err, receipt.text) == (
        "0A1B",
        "DELIVRD",
        11,
        "hi",
    )
    assert receipt.done_date == datetime(2025, 11, 24, 15, 31, 59, tzinfo=UTC)


def test_text_keeps_keywords_inside_it() -> None:
    assert parse_receipt("id:1 stat:UNDELIV err:001 text:stat:DELIVRD id:2").text == (
        "stat:DELIVRD id:2"
    )


@pytest.mark.parametrize("text", ["stat:DELIVRD", "id:1 err:abc", "id:1 submit date:2513"])
def test_unreadable_receipts(text: str) -> None:
    with pytest.raises(ReceiptFormatError):
        parse_receipt(text)


@given(
    st.text("0123456789ABCDEF", min_size=1, max_size=20),
    st.sampled_from(list(ReceiptStat)),
    st.integers(0, 999),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
)
def test_round_trip(message_id: str, stat: ReceiptStat, err: int, text: str) -> None:
    receipt = DeliveryReceipt(message_id, stat, err, text=text)
    assert parse_receipt(format_receipt(receipt)) == receipt
