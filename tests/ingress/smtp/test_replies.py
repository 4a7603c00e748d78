"""Every SMTP reply is a named constant, and the table agrees with codes.md §7."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from smsgate.domain.codes import DUPLICATE_REQUEST, TOO_MANY_CONCURRENT, RequestErrorCode
from smsgate.errors import RequestError
from smsgate.ingress.smtp import handler, server
from smsgate.ingress.smtp.replies import SmtpReply, accepted_reply, request_error_reply

CODES_MD = Path(__file__).resolve().parents[4] / "shared" / "spec" / "codes.md"


@pytest.fixture(scope="module")
def table() -> str:
    if not CODES_MD.exists():
        pytest.skip(f"{CODES_MD} not present")
    text = CODES_MD.read_text(encoding="utf-8")
    start = text.index("## 7. SMTP replies")
    return text[start : text.index("\n## ", start + 1)]


def test_every_reply_of_the_table_is_named(table: str) -> None:
    documented = set(re.findall(r"`(\d{3} \d\.\d\.\d+)", table))
    named = {f"{r.code} {r.enhanced}" for r in SmtpReply}
    assert documented <= named, documented - named


@pytest.mark.parametrize(
    ("code", "description", "request_id", "expected"),
    [
        (RequestErrorCode.PARAMETERS, None, None, "550 5.6.0 ERROR = 1 (parameters error)"),
        (RequestErrorCode.AUTHORISE, None, None, "535 5.7.8 ERROR = 2 (authorise error)"),
        (RequestErrorCode.NO_MONEY, None, 3, "550 5.7.1 ERROR = 3 (not enough money), ID - 3"),
        (
            RequestErrorCode.IP_BLOCKED,
            None,
            None,
            "450 4.7.1 ERROR = 4 (IP is temporarily blocked)",
        ),
        (RequestErrorCode.INVALID_DATE, None, None, "550 5.6.0 ERROR = 5 (invalid date format)"),
        (RequestErrorCode.FORBIDDEN, None, 6, "550 5.7.1 ERROR = 6 (message is forbidden), ID - 6"),
        (
            RequestErrorCode.INVALID_PHONE,
            None,
            "x7",
            "550 5.1.3 ERROR = 7 (invalid phone number), ID - x7",
        ),
        (
            RequestErrorCode.CANNOT_DELIVER,
            None,
            8,
            "550 5.1.3 ERROR = 8 (can't to deliver), ID - 8",
        ),
        (RequestErrorCode.TOO_MANY, None, None, "451 4.7.1 ERROR = 9 (too many requests)"),
        (
            RequestErrorCode.TOO_MANY,
            TOO_MANY_CONCURRENT,
            None,
            "451 4.7.1 ERROR = 9 (too many concurrent requests)",
        ),
        (
            RequestErrorCode.TOO_MANY,
            DUPLICATE_REQUEST,
            None,
            "550 5.7.1 ERROR = 9 (duplicate request, wait a minute)",
        ),
    ],
)
def test_request_errors(
    code: RequestErrorCode,
    description: str | None,
    request_id: int | str | None,
    expected: str,
) -> None:
    error = RequestError(code, description=description, request_id=request_id)
    assert request_error_reply(error) == expected


def test_accepted() -> None:
    assert accepted_reply(3, "12") == "250 2.0.0 OK - 3 SMS, ID - 12"


@pytest.mark.parametrize("module", [handler, server])
def test_no_reply_is_spelled_out_in_the_handler(module: object) -> None:
    """Replies come from :class:`SmtpReply`, never from a literal such as ``"250 OK"``."""
    source = Path(str(getattr(module, "__file__", ""))).read_text(encoding="utf-8")
    literals = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    # aiosmtpd's own size refusal, recognised (and replaced) by the server, is the one exception.
    recognised = {"552 Error"}
    spelled = [t for t in literals if re.match(r"^[245]\d\d[ -]", t) and t not in recognised]
    assert spelled == [], spelled
