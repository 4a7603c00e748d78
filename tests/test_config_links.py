"""Settings of short links and call confirmation (issue 7): defaults and refusals naming the key."""

from __future__ import annotations

import pytest

from smsgate.config import load_settings
from smsgate.errors import ConfigError


def test_defaults_follow_the_http_listener() -> None:
    settings = load_settings(None, {"SMSGATE_BIND_HOST": "::1", "SMSGATE_HTTP_PORT": "8080"})
    assert settings.links.base_url == "http://[::1]:8080"
    assert settings.links.code_length == 8
    assert settings.wait_call.numbers == ""
    assert settings.wait_call.ttl == 600


def test_values_are_normalised() -> None:
    settings = load_settings(
        None,
        {
            "SMSGATE_LINKS_BASE_URL": "https://sg.example/go/",
            "SMSGATE_WAIT_CALL_NUMBERS": "+7 (999) 000-11-01; 79990001102, 79990001101",
            "SMSGATE_WAIT_CALL_TTL": "5m",
        },
    )
    assert settings.links.base_url == "https://sg.example/go"
    assert settings.wait_call.numbers == "79990001101,79990001102"
    assert settings.wait_call.ttl == 300


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"SMSGATE_LINKS_BASE_URL": "ftp://sg.example"}, "links.base_url"),
        ({"SMSGATE_LINKS_BASE_URL": "https://sg.example/a b"}, "links.base_url"),
        ({"SMSGATE_LINKS_CODE_LENGTH": "4"}, "links.code_length"),
        ({"SMSGATE_WAIT_CALL_NUMBERS": "7999,abc"}, "wait_call.numbers"),
        ({"SMSGATE_WAIT_CALL_TTL": "0"}, "wait_call.ttl"),
    ],
)
def test_bad_values_name_their_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(None, environ)
    assert raised.value.key.startswith(key)
