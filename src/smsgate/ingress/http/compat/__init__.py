"""The SMSC-compatible API under ``/sys/``: one module per ``*.php`` family."""

from __future__ import annotations

from smsgate.ingress.http.compat import balance, downloads, send, status
from smsgate.ingress.http.compat.pipeline import CompatEndpoint


def endpoints() -> dict[str, CompatEndpoint]:
    """Every implemented ``/sys/<name>.php`` endpoint by name."""
    return {
        "balance": CompatEndpoint(balance.handle),
        "downloads": CompatEndpoint(downloads.handle),  # issue 6
        "status": CompatEndpoint(status.handle),
        "send": CompatEndpoint(
            send.handle, large_params=send.LARGE_PARAMS, counts_send_failures=True
        ),
    }
