"""Upstream connectors from the TOML configuration: [[connectors]] with [[connectors.binds]]."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgate.channels.smpp.settings import (
    BindMode,
    Coding,
    ConnectorSettings,
    IdFormat,
    LongMessages,
    upstream_connectors,
)
from smsgate.config import load_settings
from smsgate.errors import ConfigError

CONFIG = """
[[connectors]]
name = "operator-a"
long_messages = "sar"
submit_id_format = "hex"
receipt_id_format = "decimal"
route_statuses = "0x50, 0x51, 0x0400"

[[connectors.binds]]
host = "smsc.example"
port = 2776
tls = true
system_id = "acme"
password = "s3cret"
mode = "transmitter"
window = 20
tps = "50"
enquire_link = "15s"
reconnect_max = "2m"

[[connectors.binds]]
host = "smsc.example"
port = 2776
system_id = "acme"
password = "s3cret"
mode = "receiver"
coding = "ucs2"
"""


def load(tmp_path: Path, text: str) -> list[ConnectorSettings]:
    path = tmp_path / "smsgate.toml"
    path.write_text(text, encoding="utf-8")
    settings = load_settings(path, {}, cwd=tmp_path)
    return upstream_connectors(settings.connectors, frozenset({"simulator"}))


def test_connectors_and_their_binds_are_read(tmp_path: Path) -> None:
    (connector,) = load(tmp_path, CONFIG)
    assert connector.name == "operator-a"
    assert connector.long_messages is LongMessages.SAR
    assert connector.submit_id_format is IdFormat.HEX
    assert connector.receipt_id_format is IdFormat.DECIMAL
    assert connector.route_statuses == (0x50, 0x51, 0x400)
    tx, rx = connector.binds
    assert (tx.mode, tx.tls, tx.window, tx.tps) == (BindMode.TRANSMITTER, True, 20, 50.0)
    assert (tx.enquire_link_s, tx.reconnect_max_s) == (15.0, 120.0)
    assert (rx.mode, rx.coding) == (BindMode.RECEIVER, Coding.UCS2)
    assert connector.window == 20 and connector.tps == 50.0


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            '[[connectors]]\nname = "x"\n[[connectors.binds]]\nmode = "both"\n',
            "connectors[0].binds[0].mode",
        ),
        (
            '[[connectors]]\nname = "x"\n[[connectors.binds]]\nwindow = 0\n',
            "connectors[0].binds[0]",
        ),
        (
            '[[connectors]]\nname = "x"\n[[connectors.binds]]\nbogus = 1\n',
            "connectors[0].binds[0].bogus",
        ),
        ('[[connectors]]\nname = "x"\n', "connectors[0]"),
        ('[[connectors]]\nname = "simulator"\n[[connectors.binds]]\n', "connectors[0].name"),
        ("connectors = 3\n", "connectors"),
    ],
)
def test_a_bad_connector_is_named(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load(tmp_path, text)
    assert failed.value.key == key
