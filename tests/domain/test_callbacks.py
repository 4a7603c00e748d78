"""Callback bodies, signatures, schedule and the address rule (http-api.md §14)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from smsgate.domain.callbacks import (
    StatusEvent,
    check_url_syntax,
    dump_fields,
    is_public_address,
    load_fields,
    parse_retry_after,
    render_body,
    retry_delay,
    signature,
    status_fields,
    throttled_delay,
    url_options,
)

SPEC_FIELDS = [
    ("id", "42"), ("phone", "79991234567"), ("status", "1"), ("time", "05.03.2025 12:00:07"),
    ("ts", "1741165207"), ("err", "0"), ("cnt", "1"), ("cost", "2.50"), ("type", "0"),
    ("sender", "Shop"), ("mccmnc", "25001"), ("comment", ""),
]  # fmt: skip


def test_signature_example_of_the_spec() -> None:
    text = "42:79991234567:1:05.03.2025 12:00:07:1741165207:0:1:2.50:0:Shop:25001::secret"
    expected = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    assert signature("md5", SPEC_FIELDS, "secret", "utf-8") == expected


def test_status_fields_of_the_spec_example() -> None:
    event = StatusEvent(
        "42", "79991234567", 1, 0, 1741165207.9, 1, Decimal("2.5"), 0, "Shop", "25001", None,
        None, 0,
    )  # fmt: skip
    assert status_fields(event) == SPEC_FIELDS


def test_hlr_adds_the_answer() -> None:
    hlr = json.dumps({"imsi": "250010000000001", "mcc": "250", "mnc": "01"})
    event = StatusEvent("1", "7", 1, 0, 0, 1, Decimal(0), 4, None, None, None, hlr, 0)
    names = [k for k, _ in status_fields(event)]
    assert names[12:] == ["imsi", "msc", "mcc", "mnc", "cn", "net", "rcn", "rnet"]
    assert dict(status_fields(event))["imsi"] == "250010000000001"


@pytest.mark.parametrize(
    ("url", "fmt", "charset", "signatures"),
    [
        ("http://h/x", 0, "windows-1251", ()),
        ("http://h/x?fmt=3", 3, "utf-8", ()),
        ("http://h/x?fmt=2&charset=koi8-r", 2, "utf-8", ()),
        ("http://h/x?charset=KOI8R&crc32=1&md5", 0, "koi8-r", ("md5", "crc32")),
        ("http://h/x?charset=utf8&sha1=&fmt=9", 0, "utf-8", ("sha1",)),
    ],
)
def test_url_options(url: str, fmt: int, charset: str, signatures: tuple[str, ...]) -> None:
    options = url_options(url)
    assert (options.fmt, options.charset, options.signatures) == (fmt, charset, signatures)


def test_bodies() -> None:
    fields = [("mes", "a&b <c> д"), ("id", "1")]
    form, media = render_body(fields, url_options("http://h/?charset=windows-1251"))
    assert (form, media) == (
        b"mes=a%26b+%3Cc%3E+%E4&id=1",
        "application/x-www-form-urlencoded; charset=windows-1251",
    )
    xml, media = render_body(fields, url_options("http://h/?fmt=2"))
    assert xml.decode() == (
        '<?xml version="1.0" encoding="utf-8"?>\n<data><mes>a&amp;b &lt;c&gt; д</mes><id>1</id></data>'
    )
    body, media = render_body(fields, url_options("http://h/?fmt=3"))
    assert json.loads(body) == {"mes": "a&b <c> д", "id": "1"}
    assert media == "application/json; charset=utf-8"


def test_retry_schedule() -> None:
    assert [retry_delay(n) for n in range(1, 12)] == [
        10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600,
    ]  # fmt: skip
    assert throttled_delay(1, None) == 20
    assert throttled_delay(1, 300) == 300
    assert throttled_delay(12, None) == 3600
    assert throttled_delay(1, 10**9) == 6 * 3600


def test_retry_after() -> None:
    assert parse_retry_after("120", 0) == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10
    assert parse_retry_after("soon", 0) is None
    assert parse_retry_after(None, 0) is None


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2a00:1450:4010:c05::8a", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("100.64.0.1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_url_syntax() -> None:
    assert check_url_syntax("https://example.com/cb?fmt=3") is None
    assert check_url_syntax("ftp://example.com/") is not None
    assert check_url_syntax("http://") is not None
    assert check_url_syntax("http://h:99999/") is not None


def test_stored_fields_round_trip_and_refuse_garbage() -> None:
    assert load_fields(dump_fields(SPEC_FIELDS)) == SPEC_FIELDS
    for garbage in ('{"a": 1}', "[[1, 2]]", '[["a"]]'):
        with pytest.raises(ValueError):
            load_fields(garbage)
