"""Configuration: TOML file, environment overrides, validation naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgate.config import load_settings, normalise_database_url
from smsgate.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, {}, cwd=tmp_path)
    assert settings.bind_host == "127.0.0.1"
    assert (settings.http.port, settings.smpp.port, settings.smtp.port) == (8000, 2775, 2525)
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'smsgate.db'}"
    assert settings.limits.concurrent == 15 and settings.lockout.auth_failures == 5
    assert settings.lockout.window == 1800


def test_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "smsgate.toml"
    config.write_text(
        'bind_host = "0.0.0.0"\n'
        "[http]\nport = 9000\n"
        '[lockout]\nwindow = "10m"\nduration = "1h"\n'
        '[limits]\nper_number_gap = "30s"\n'
        '[database]\nurl = "postgresql://u@db/smsgate"\n',
        encoding="utf-8",
    )
    settings = load_settings(
        config, {"SMSGATE_HTTP_PORT": "9100", "SMSGATE_SMPP_PORT": "2776"}, cwd=tmp_path
    )
    assert settings.bind_host == "0.0.0.0"
    assert settings.http.port == 9100  # the environment wins over the file
    assert settings.smpp.port == 2776
    assert settings.lockout.window == 600 and settings.lockout.duration == 3600
    assert settings.database.url == "postgresql+asyncpg://u@db/smsgate"
    via_env = load_settings(None, {"SMSGATE_CONFIG": str(config)}, cwd=tmp_path)
    assert via_env.http.port == 9000


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"SMSGATE_HTTP_PORT": "http"}, "http.port (SMSGATE_HTTP_PORT)"),
        ({"SMSGATE_HTTP_PORT": "70000"}, "http.port (SMSGATE_HTTP_PORT)"),
        ({"SMSGATE_SMTP_PORT": "-1"}, "smtp.port (SMSGATE_SMTP_PORT)"),
        ({"SMSGATE_DATABASE_URL": "mysql://x"}, "database.url (SMSGATE_DATABASE_URL)"),
        ({"SMSGATE_BIND_HOST": "not a host!"}, "bind_host (SMSGATE_BIND_HOST)"),
        ({"SMSGATE_LOCKOUT_WINDOW": "soon"}, "lockout.window (SMSGATE_LOCKOUT_WINDOW)"),
        ({"SMSGATE_LIMITS_CONCURRENT": "0"}, "limits.concurrent"),
        ({"SMSGATE_LOG_FORMAT": "xml"}, "log.format"),
        ({"SMSGATE_HTTP_TLS_PORT": "8443"}, "http.tls_cert"),
        ({"SMSGATE_HTTP_TRUSTED_PROXIES": "10.0.0.0/33"}, "http.trusted_proxies"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load_settings(None, environ, cwd=tmp_path)
    assert failed.value.key == key
    assert "\n" not in str(failed.value)


def test_unknown_keys_and_bad_files(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[http]\nprot = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"http\.prot: unknown setting"):
        load_settings(config, {}, cwd=tmp_path)
    config.write_text("[http\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config, {}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "missing.toml", {}, cwd=tmp_path)


def test_database_url_forms() -> None:
    assert normalise_database_url("sqlite:///var/x.db") == "sqlite+aiosqlite:///var/x.db"
    assert normalise_database_url("postgres://u@h/d") == "postgresql+asyncpg://u@h/d"
    assert normalise_database_url("postgresql+asyncpg://u@h/d") == "postgresql+asyncpg://u@h/d"


def test_currency_from_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[billing]\ncurrency = "USD"\n', encoding="utf-8")
    assert load_settings(config, {}, cwd=tmp_path).billing.currency == "USD"
