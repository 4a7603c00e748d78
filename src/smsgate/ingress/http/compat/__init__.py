"""The SMSC-compatible API under ``/sys/``: one module per ``*.php`` family."""

from __future__ import annotations

from smsgate.ingress.http.compat import (
    balance,
    downloads,
    get,
    info,
    jobs,
    op_templates,
    phones,
    ping,
    receive_phones,
    send,
    senders,
    status,
    templates,
    tinyurls,
    users,
    wait_call,
)
from smsgate.ingress.http.compat.pipeline import CompatEndpoint


def endpoints() -> dict[str, CompatEndpoint]:
    """Every implemented ``/sys/<name>.php`` endpoint by name."""
    return {
        "balance": CompatEndpoint(balance.handle),
        "downloads": CompatEndpoint(downloads.handle),  # issue 6
        "status": CompatEndpoint(status.handle),
        "ping": CompatEndpoint(ping.handle),  # issue 8
        "send": CompatEndpoint(
            send.handle, large_params=send.LARGE_PARAMS, counts_send_failures=True
        ),
        # issue 7: account management
        "users": CompatEndpoint(users.handle),
        "senders": CompatEndpoint(senders.handle),
        "templates": CompatEndpoint(templates.handle),
        "op_templates": CompatEndpoint(op_templates.handle),
        # contacts (issue 7)
        "phones": CompatEndpoint(phones.handle, large_params=phones.LARGE_PARAMS),
        "get": CompatEndpoint(get.handle, large_params=get.LARGE_PARAMS),
        "info": CompatEndpoint(info.handle),
        "receive_phones": CompatEndpoint(receive_phones.handle),  # inbound numbers
        "jobs": CompatEndpoint(jobs.handle, large_params=jobs.LARGE_PARAMS),
        # issue 7: short links and call confirmation
        "tinyurls": CompatEndpoint(tinyurls.handle),
        "wait_call": CompatEndpoint(wait_call.handle),
    }
