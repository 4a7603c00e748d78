"""The gateway as a real process, for tests that kill it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import TEST_ENV

SMSGATE = [sys.executable, "-m", "smsgate"]
_LISTENING = re.compile(r"(\w+) listening on \S+:(\d+)")


def gateway_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **TEST_ENV,
        "SMSGATE_DATABASE_URL": database_url,
        "SMSGATE_DATA_DIR": str(tmp_path / "var"),
        "SMSGATE_HTTP_PORT": "0",
        "SMSGATE_LOG_LEVEL": "WARNING",
        **extra,
    }


def cli(env: Mapping[str, str], *args: str) -> None:
    subprocess.run([*SMSGATE, *args], env=env, check=True, capture_output=True, timeout=60)  # noqa: S603


@contextmanager
def gateway_process(
    env: Mapping[str, str],
) -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    """``smsgate run`` in its own process (so it can be killed) and the ports of its listeners by
    name (``http``, ``smtp``, ``smpp`` …, from its start-up banner); killed on exit if it still
    runs."""
    server = subprocess.Popen(  # noqa: S603
        [*SMSGATE, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert server.stdout is not None
        ports: dict[str, int] = {}
        for line in server.stdout:
            found = _LISTENING.search(line)
            if found:
                ports[found.group(1)] = int(found.group(2))
            elif "health:" in line:  # the banner's last line
                break
        assert "http" in ports, f"the gateway did not start: {ports}"
        yield server, ports
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


@contextmanager
def running_gateway(env: Mapping[str, str]) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """:func:`gateway_process` with its HTTP port."""
    with gateway_process(env) as (server, ports):
        yield server, ports["http"]
