"""The SMSC-compatible API under ``/sys/``: one module per ``*.php`` family."""

from __future__ import annotations

from smsgate.ingress.http.compat import balance, ping, send, status
from smsgate.ingress.http.compat.pipeline import CompatEndpoint


def endpoints() -> dict[str, CompatEndpoint]:
    """Every implemented ``/sys/<name>.php`` endpoint by name."""
    return {
        "balance": CompatEndpoint(balance.handle),
        "status": CompatEndpoint(status.handle),
        "ping": CompatEndpoint(ping.handle),  # issue 8
        "send": CompatEndpoint(
            send.handle, large_params=send.LARGE_PARAMS, counts_send_failures=True
        ),
    }
