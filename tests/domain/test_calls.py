"""Incoming-call events and their signature (domain/calls.py)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from smsgate.domain.calls import CallEventError, IncomingCall, parse_event, sign, signature_valid


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"from": "79161234567", "to": "79990001122"}'
    expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert sign("k3y", body) == expected
    assert signature_valid("k3y", body, expected)
    assert not signature_valid("k3y", body + b" ", expected)
    assert not signature_valid("other", body, expected)
    assert not signature_valid("", body, sign("", body))  # no secret: nothing is valid


@pytest.mark.parametrize(
    ("body", "event"),
    [
        (
            b'{"from": "79161234567", "to": "79990001122"}',
            IncomingCall("79161234567", "79990001122", None),
        ),
        (
            b'{"from": " +7 916 ", "to": "1", "time": 1764000000}',
            IncomingCall("+7 916", "1", 1764000000.0),
        ),
    ],
)
def test_events_parse(body: bytes, event: IncomingCall) -> None:
    assert parse_event(body) == event


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b"\xff",
        b'{"from": "", "to": "1"}',
        b'{"from": 79161234567, "to": "1"}',
        b'{"from": "1"}',
        b'{"from": "1", "to": "2", "time": "now"}',
        b'{"from": "1", "to": "2", "time": true}',
        b'{"from": "1", "to": "2", "time": NaN}',
        b'{"from": "' + b"1" * 5000 + b'", "to": "2"}',
    ],
)
def test_malformed_events_are_refused(body: bytes) -> None:
    with pytest.raises(CallEventError):
        parse_event(body)
