"""GatewaySmtp's adjustments to aiosmtpd's protocol (ingress/smtp/server.py)."""

from __future__ import annotations

import asyncio

from aiosmtpd.smtp import SMTP
from hypothesis import given
from hypothesis import strategies as st

from smsgate.config import SmtpSettings
from smsgate.ingress.smtp.handler import NULL_SENDER
from smsgate.ingress.smtp.server import _PLAIN_PATH, GatewaySmtp

ATOM = st.text(alphabet="abcXYZ019!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=8)


def parse(arg: str) -> tuple[str | None, str | None]:
    """aiosmtpd's own address parsing, for comparison."""

    async def run() -> tuple[str | None, str | None]:
        protocol = SMTP(object(), hostname="x", loop=asyncio.get_running_loop())
        return protocol._getaddr(arg)

    return asyncio.run(run())


@given(
    st.lists(ATOM, min_size=1, max_size=3),
    st.lists(st.text(alphabet="abc019-", min_size=1, max_size=6), min_size=1, max_size=3),
    st.sampled_from(["", " SIZE=100", " BODY=8BITMIME SMTPUTF8"]),
)
def test_plain_paths_read_as_aiosmtpd_reads_them(
    local: list[str], domain: list[str], params: str
) -> None:
    arg = f"<{'.'.join(local)}@{'.'.join(domain)}>{params}"
    assert _PLAIN_PATH.match(arg) is not None
    address, rest = parse(arg)
    fast = GatewaySmtp._getaddr(object.__new__(GatewaySmtp), arg)
    assert fast[0] == address and (fast[1] or "").strip() == (rest or "").strip()


def test_other_paths_go_to_the_full_parser() -> None:
    gateway = object.__new__(GatewaySmtp)
    gateway.local_part_limit = 0
    assert GatewaySmtp._getaddr(gateway, '<"quoted local"@example.com>') == (
        '"quoted local"@example.com',
        "",
    )
    assert GatewaySmtp._getaddr(gateway, "<>") == (NULL_SENDER, "")
    assert GatewaySmtp._getaddr(gateway, "<> SIZE=10") == (NULL_SENDER, "SIZE=10")
    assert GatewaySmtp._getaddr(gateway, "<a..b@x>")[0] == parse("<a..b@x>")[0]


def test_settings_defaults_are_the_spec() -> None:
    settings = SmtpSettings()
    assert (settings.port, settings.max_message, settings.max_recipients) == (2525, 102400, 100)
    assert settings.auth_require_tls
