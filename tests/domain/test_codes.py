"""The code enums agree with spec/codes.md, the normative table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smsgate.domain.codes import Currency, MessageStatus, MessageType, RequestErrorCode

CODES_MD = Path(__file__).resolve().parents[3] / "shared" / "spec" / "codes.md"


@pytest.fixture(scope="module")
def spec() -> str:
    if not CODES_MD.exists():
        pytest.skip(f"{CODES_MD} not present")
    return CODES_MD.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start : end if end != -1 else None]


def test_request_error_descriptions(spec: str) -> None:
    table = section(spec, "### 1.1 Descriptions")
    rows = dict(re.findall(r"^\| (\d) \| ([^|]+?) \|", table, flags=re.M))
    assert set(rows) == {str(int(code)) for code in RequestErrorCode}
    for code in RequestErrorCode:
        assert f"`{code.description}`" in rows[str(int(code))], code


def test_message_statuses(spec: str) -> None:
    table = section(spec, "## 2. Message status codes")
    rows = re.findall(
        r"^\| (-?\d+) \| ([^|]+?) \| [^|]+ \| [^|]+ \| ([^|]+?) \|", table, flags=re.M
    )
    assert {int(code) for code, _, _ in rows} == {int(s) for s in MessageStatus}
    for code, name, final in rows:
        status = MessageStatus(int(code))
        assert status.status_name == name.strip()
        assert status.is_final == final.strip().startswith("yes")


def test_message_types(spec: str) -> None:
    table = section(spec, "### 4.1 `type`")
    pairs = re.findall(r"(?<=\| )(\d+) \| ([A-Za-z][^|]*?) (?=\|)", table)
    assert {int(code) for code, _ in pairs} == {int(t) for t in MessageType}


def test_currencies(spec: str) -> None:
    row = next(line for line in spec.splitlines() if "`curr` → display code" in line)
    found = dict(re.findall(r"(\d) `([A-Z]{3})`", row))
    assert found == {str(int(c)): c.code for c in Currency}
