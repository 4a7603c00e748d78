"""The gateway with the e-mail channel configured (issue 9): the channel is built, mail is routed to
it while no routes exist, other types still go to the simulator; and its configuration is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgate.app import CONNECTORS, Gateway, email_limits
from smsgate.config import Settings, load_settings
from smsgate.domain.codes import MessageType
from smsgate.errors import ConfigError
from tests.conftest import make_settings
from tests.support.clock import ManualClock

EMAIL_ENV = {
    "SMSGATE_EMAIL_HOST": "127.0.0.1",
    "SMSGATE_EMAIL_PORT": "2525",
    "SMSGATE_EMAIL_DEFAULT_FROM": "noreply@gateway.test",
    "SMSGATE_EMAIL_TPS": "20",
    "SMSGATE_EMAIL_WINDOW": "50",
}


async def test_gateway_builds_the_email_channel(settings: Settings, clock: ManualClock) -> None:
    configured = make_settings(
        settings.database.url, Path(settings.data_dir), SMSGATE_HTTP_PORT="0", **EMAIL_ENV
    )
    async with Gateway(configured, clock, only=frozenset({"http"})) as gateway:
        assert gateway.email is not None and gateway.services is not None
        assert gateway.email.name == "email" and "email" in CONNECTORS
        table = await gateway.services.routes.table()
        assert table.connectors(MessageType.MAIL, "a@b.ru", None, None, 1) == ["email"]
        assert table.connectors(MessageType.SMS, "79161234567", "RU", None, 1) == ["simulator"]
    limits = email_limits(configured)
    assert (limits.tps, limits.window) == (20.0, 50)


async def test_without_a_host_there_is_no_email_channel(
    settings: Settings, clock: ManualClock
) -> None:
    plain = make_settings(settings.database.url, Path(settings.data_dir), SMSGATE_HTTP_PORT="0")
    async with Gateway(plain, clock, only=frozenset({"http"})) as gateway:
        assert gateway.email is None and gateway.services is not None
        table = await gateway.services.routes.table()
        assert table.connectors(MessageType.MAIL, "a@b.ru", None, None, 1) == ["simulator"]


def test_email_settings_from_a_file(tmp_path: Path) -> None:
    config = tmp_path / "smsgate.toml"
    config.write_text(
        """
[email]
host = "smtp.example.net"
port = 465
tls = "implicit"
username = "gateway"
password = "secret"
default_from = "noreply@example.net"
pool_size = 4
timeout = "30s"
reconnect = "1m"
track_url = "https://sms.example.net"
track_secret = "shared"
""",
        encoding="utf-8",
    )
    email = load_settings(config, {}, cwd=tmp_path).email
    assert (email.host, email.port, email.tls, email.pool_size) == (
        "smtp.example.net",
        465,
        "implicit",
        4,
    )
    assert (email.timeout, email.reconnect) == (30.0, 60.0)


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"SMSGATE_EMAIL_TLS": "ssl"}, "email.tls (SMSGATE_EMAIL_TLS)"),
        ({"SMSGATE_EMAIL_PORT": "0"}, "email.port (SMSGATE_EMAIL_PORT)"),
        ({"SMSGATE_EMAIL_POOL_SIZE": "0"}, "email.pool_size"),
        ({"SMSGATE_EMAIL_TPS": "-1"}, "email.tps"),
        ({"SMSGATE_EMAIL_HOST": "relay"}, "email.default_from (SMSGATE_EMAIL_DEFAULT_FROM)"),
        ({"SMSGATE_EMAIL_USERNAME": "u"}, "email.username"),
        ({"SMSGATE_EMAIL_TRACK_URL": "ftp://x"}, "email.track_url"),
        ({"SMSGATE_EMAIL_TRACK_URL": "https://x"}, "email.track_secret"),
    ],
)
def test_invalid_email_settings_name_the_key(
    tmp_path: Path, environ: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as failed:
        load_settings(None, environ, cwd=tmp_path)
    assert failed.value.key == key
