"""The ``smsgate`` command, run as a real process against SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
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
        "SMSGATE_HTTP_PORT": "0",
    }


def smsgate(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - our own command
        [*SMSGATE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_version(env: dict[str, str]) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", smsgate(env, "version").stdout)


def test_invalid_configuration_is_one_line_naming_the_key(env: dict[str, str]) -> None:
    result = smsgate({**env, "SMSGATE_HTTP_PORT": "eighty"}, "version", ok=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "http.port (SMSGATE_HTTP_PORT)" in result.stderr


def test_account_lifecycle(env: dict[str, str]) -> None:
    assert "schema up to date" in smsgate(env, "migrate").stdout
    smsgate(env, "account", "create", "shop", "--password", "pass-word-1", "--balance", "10.5")
    listed = smsgate(env, "account", "list").stdout
    assert re.search(r"^\d+\tshop\t10\.50\tRUR\t$", listed, flags=re.M), listed
    smsgate(
        env,
        "account", "set", "shop",
        "--smpp-password", "smpp1",
        "--allow-ip", "10.0.0.0/8", "--allow-ip", "192.0.2.1",
        "--callback-url", "https://example.com/cb",
        "--callback-secret", "s3",
        "--test-mode", "on",
    )  # fmt: skip
    assert "\ttest" in smsgate(env, "account", "list").stdout
    assert "balance of shop: 8.25" in smsgate(env, "account", "topup", "shop", "--", "-2.25").stdout
    key = smsgate(env, "account", "apikey", "shop", "--name", "crm").stdout.strip()
    assert key.startswith("sg_")
    keys = smsgate(env, "account", "keys", "shop").stdout
    key_id = keys.split("\t", 1)[0]
    assert "active" in keys and key not in keys
    smsgate(env, "account", "revoke-key", "shop", key_id)
    assert "revoked" in smsgate(env, "account", "keys", "shop").stdout
    failed = smsgate(env, "account", "create", "shop", "--password", "pass-word-2", ok=False)
    assert failed.returncode == 1 and "taken" in failed.stderr
    bad_ip = smsgate(env, "account", "set", "shop", "--allow-ip", "10.0.0.999", ok=False)
    assert bad_ip.returncode == 1 and "not an IP" in bad_ip.stderr


def test_tariffs(env: dict[str, str]) -> None:
    smsgate(env, "tariff", "set", "2.50")
    smsgate(env, "tariff", "set", "1.20", "--country", "ru", "--operator", "MTS", "--type", "sms")
    listed = smsgate(env, "tariff", "list").stdout.splitlines()
    assert listed == [
        "plan 0\tcountry *\toperator *\ttype *\tprice 2.50",
        "plan 0\tcountry RU\toperator MTS\ttype sms\tprice 1.20",
    ]
    smsgate(env, "tariff", "delete", "--country", "RU", "--operator", "MTS", "--type", "sms")
    assert len(smsgate(env, "tariff", "list").stdout.splitlines()) == 1
    assert smsgate(env, "tariff", "set", "abc", ok=False).returncode == 2


def test_run_prints_demo_credentials_that_work(env: dict[str, str]) -> None:
    for attempt in range(2):  # the second run finds the demo account and sets nothing up again
        process = subprocess.Popen(  # noqa: S603 - our own command
            [*SMSGATE, "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if "health:" in line:
                    break
            output = "".join(lines)
            port = re.search(r"http listening on 127\.0\.0\.1:(\d+)", output)
            assert port, output
            base = f"http://127.0.0.1:{port.group(1)}"
            if attempt == 0:
                login = re.search(r"login:\s+(\S+)", output)
                password = re.search(r"password:\s+(\S+)", output)
                api_key = re.search(r"API key:\s+(\S+)", output)
                assert login and password and api_key, output
                assert f"curl '{base}/sys/balance.php?login=demo&psw=" in output
                creds = {"login": login.group(1), "psw": password.group(1)}
            else:
                assert "password:" not in output and "demo-credentials.txt" in output
            response = httpx.get(f"{base}/sys/balance.php", params={**creds, "fmt": "3"})
            assert response.json() == {"balance": "1000.00"}
            assert httpx.get(f"{base}/health").json()["database"] is True
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            if process.stdout is not None:
                process.stdout.close()


def test_numbering_and_senders(env: dict[str, str], tmp_path: Path) -> None:
    registry = tmp_path / "def.csv"
    registry.write_text(
        "\ufeffАВС/ DEF;От;До;Емкость;Оператор;Регион;ИНН\n"
        '916;0000000;9999999;10000000;ПАО "Мобильные ТелеСистемы";г. Москва *;7740000076\n',
        encoding="utf-8",
    )
    assert "imported 1 ranges" in smsgate(env, "numbering", "import", str(registry)).stdout
    looked_up = smsgate(env, "numbering", "lookup", "+7 916 123-45-67").stdout
    assert looked_up.startswith("79161234567\tRU\t") and "25001" in looked_up
    smsgate(env, "numbering", "port", "79161234567", "Tele2")
    assert "25020" in smsgate(env, "numbering", "lookup", "79161234567").stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("916;x;y\n", encoding="utf-8")
    assert smsgate(env, "numbering", "import", str(bad), ok=False).returncode == 1
    smsgate(env, "account", "create", "shop", "--password", "pass-word-1")
    smsgate(env, "sender", "add", "shop", "ShopName")
    assert "ShopName\tpending" in smsgate(env, "sender", "list", "shop").stdout
    smsgate(env, "sender", "approve", "shop", "ShopName")
    assert "ShopName\tactive" in smsgate(env, "sender", "list", "shop").stdout
    assert smsgate(env, "sender", "add", "shop", "Way too long name", ok=False).returncode == 1


def test_routes(env: dict[str, str]) -> None:
    smsgate(env, "account", "create", "shop", "--password", "pass-word-1")
    assert "route 1 added" in smsgate(env, "route", "add", "simulator", "--country", "ru").stdout
    smsgate(
        env, "route", "add", "simulator", "--type", "hlr", "--account", "shop", "--position", "5"
    )
    listed = smsgate(env, "route", "list").stdout.splitlines()
    assert listed[0].startswith("2\tposition 5\tsimulator\ttype hlr")
    assert "country RU" in listed[1]
    unknown = smsgate(env, "route", "add", "nowhere", ok=False)
    assert unknown.returncode == 1 and "unknown connector" in unknown.stderr
    smsgate(env, "route", "delete", "1")
    assert len(smsgate(env, "route", "list").stdout.splitlines()) == 1


def test_email2sms_settings(env: dict[str, str]) -> None:
    smsgate(env, "account", "create", "shop", "--password", "pass-word-1")
    shown = smsgate(env, "email2sms", "show", "shop").stdout
    assert "disabled\tFalse" in shown and "max_length\t0" in shown
    changed = smsgate(
        env,
        "email2sms", "set", "shop",
        "--service", "off", "--no-subject", "on", "--translit", "on",
        "--phones-in-address", "on", "--max-length", "140",
    ).stdout  # fmt: skip
    for line in ("disabled\tTrue", "allow_no_subject\tTrue", "translit\tTrue", "max_length\t140"):
        assert line in changed, changed
    assert "phones_in_body\tFalse" in smsgate(env, "email2sms", "show", "shop").stdout
    missing = smsgate(env, "email2sms", "show", "nobody", ok=False)
    assert missing.returncode == 1 and "nobody" in missing.stderr
