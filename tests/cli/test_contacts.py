"""``smsgate contacts import|export``, run as a real process against SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_ENV

# Each test runs the real `smsgate` command in processes of its own: seconds, not milliseconds.
pytestmark = pytest.mark.timeout(120)

SMSGATE = [sys.executable, "-m", "smsgate"]


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        **TEST_ENV,
        "SMSGATE_DATABASE_URL": database_url,
        "SMSGATE_DATA_DIR": str(tmp_path / "var"),
    }


def smsgate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command
        [*SMSGATE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


IMPORT = """\ufeffphone,mail,name,fio,bd,tags,cmt,grp
8 916 123-45-67,ivan@example.com,Ivan,Petrov Ivan Sergeevich,1.2.1990,vip,"likes tea, coffee",
79261234567,,Anna,,,,,
,only@mail.ru,Mail only,,,,,
12345,,Bad number,,,,,
79031234567,,Bad date,,31.02.2000,,,
79031234568,,No such group,,,,,7
+7 916 123 45 67,,Ivan P,,,,,
"""


def test_import_then_export(env: dict[str, str], tmp_path: Path) -> None:
    created = smsgate(env, "account", "create", "shop", "--password", "pass-word-1")
    assert created.returncode == 0, created.stderr
    source = tmp_path / "in.csv"
    source.write_text(IMPORT, encoding="utf-8")
    imported = smsgate(env, "contacts", "import", "shop", str(source))
    assert imported.returncode == 1  # some rows were rejected
    assert "imported 4 contacts, rejected 3" in imported.stdout
    rejected = [line.split(":")[1] for line in imported.stderr.splitlines() if "in.csv:" in line]
    assert rejected == ["5", "6", "7"]

    target = tmp_path / "out.csv"
    exported = smsgate(env, "contacts", "export", "shop", str(target))
    assert exported.returncode == 0, exported.stderr
    assert "exported 3 contacts" in exported.stdout
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["id"], r["phone"], r["mail"], r["name"]) for r in rows] == [
        ("1", "79161234567", "ivan@example.com", "Ivan P"),  # updated by the last line
        ("2", "79261234567", "", "Anna"),
        ("3", "", "only@mail.ru", "Mail only"),
    ]
    first = rows[0]
    assert (first["lnm"], first["bd"], first["cmt"]) == (
        "Petrov",
        "01.02.1990",
        "likes tea, coffee",
    )

    # What was exported imports again unchanged, into the same or another account.
    smsgate(env, "account", "create", "copy", "--password", "pass-word-1")
    again = smsgate(env, "contacts", "import", "copy", str(target))
    assert again.returncode == 0, again.stderr
    to_stdout = smsgate(env, "contacts", "export", "copy", "-")
    copied = list(csv.DictReader(io.StringIO(to_stdout.stdout)))
    assert [{**r, "id": ""} for r in copied] == [{**r, "id": ""} for r in rows]


def test_bad_header_and_unknown_login(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("telephone,name\n79161234567,x\n", encoding="utf-8")
    bad = smsgate(env, "contacts", "import", "shop", str(source))
    assert bad.returncode == 1 and "header" in bad.stderr
    source.write_text("phone\n79161234567\n", encoding="utf-8")
    unknown = smsgate(env, "contacts", "import", "nobody", str(source))
    assert unknown.returncode == 1 and "no account" in unknown.stderr
