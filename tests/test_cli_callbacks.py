"""``smsgate callbacks …`` and ``smsgate monitor …`` as real processes (issue 8)."""

from __future__ import annotations

import re

import pytest

from tests.test_cli import env, smsgate

# Each test runs the real `smsgate` command in processes of its own: seconds, not milliseconds.
pytestmark = pytest.mark.timeout(120)

__all__ = ["env"]


def test_monitor_groups_and_callback_inspection(env: dict[str, str]) -> None:
    smsgate(env, "account", "create", "ops", "--password", "pass-word-1")
    added = smsgate(env, "monitor", "add", "ops", "--name", "web", "--phones", "79161234567").stdout
    group_id = re.fullmatch(r"task group (\d+) \(web\)\n", added)
    assert group_id, added
    listed = smsgate(env, "monitor", "list", "ops").stdout
    assert listed.startswith(f"{group_id.group(1)}  web  sms  to 79161234567  quiet 300s")
    assert smsgate(env, "callbacks", "list", "ops").stdout == ""
    assert smsgate(env, "callbacks", "retry", "ops").stdout == "0 callback(s) queued again\n"
    missing = smsgate(env, "callbacks", "show", "ops", "1", ok=False)
    assert missing.returncode == 1 and "no callback 1 for ops" in missing.stderr
    smsgate(env, "monitor", "delete", "ops", group_id.group(1))
    assert smsgate(env, "monitor", "list", "ops").stdout == ""


def test_private_callback_url_refused_unless_allowed(env: dict[str, str]) -> None:
    smsgate(env, "account", "create", "shop", "--password", "pass-word-1")
    refused = smsgate(
        env, "account", "set", "shop", "--callback-url", "http://10.0.0.1/cb", ok=False
    )
    assert refused.returncode == 1 and "private address" in refused.stderr
    allowed = {**env, "SMSGATE_CALLBACKS_ALLOW_PRIVATE_NETWORKS": "1"}
    smsgate(allowed, "account", "set", "shop", "--callback-url", "http://10.0.0.1/cb")
