"""Kill -9 the gateway while it dispatches 20,000 messages, then restart (issue 4).

Every accepted message must reach a final status, and the simulated operator's own log must show no
message handed over twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from smsgate.channels.simulator_log import HandoverLog
from smsgate.config import DatabaseSettings, normalise_database_url
from smsgate.store.db import Database
from smsgate.store.schema import messages
from tests.support.gateway import cli, gateway_env, running_gateway

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "crash-test-1"
REQUESTS = 20
PER_REQUEST = 1000
LEASE_S = 60


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_kill_during_dispatch_then_restart(database_url: str, tmp_path: Path) -> None:
    log_path = tmp_path / "simulator.log"
    env = gateway_env(
        database_url,
        tmp_path,
        SMSGATE_SIMULATOR_LOG=str(log_path),
        SMSGATE_SIMULATOR_RULES="",  # the operator delivers everything
    )
    cli(env, "account", "create", "load", "--password", PASSWORD, "--balance", "1000000")
    cli(env, "tariff", "set", "0.01")
    with running_gateway(env) as (server, port):
        accepted = await _send_all(port)
        server.send_signal(signal.SIGKILL)  # while it is still dispatching
    assert accepted == REQUESTS * PER_REQUEST
    handed_before = len(HandoverLog(log_path).load())
    print(f"handed over before the kill: {handed_before}")

    # The restart: a dispatcher on the same database and operator, once the dead one's leases ended.
    restart = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.dispatch.claim_worker",
        database_url,
        str(time.time() + LEASE_S + 1),
        str(log_path),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
    )
    await restart.communicate()
    assert restart.returncode == 0

    handed = [m.id for m in HandoverLog(log_path).load()]
    assert len(handed) == len(set(handed)), "a message was handed over twice"
    db = Database.open(DatabaseSettings(url=normalise_database_url(database_url)), pooled=False)
    try:
        async with db.read() as conn:
            by_status = dict(
                (
                    await conn.execute(
                        select(messages.c.status, func.count()).group_by(messages.c.status)
                    )
                ).all()
            )
    finally:
        await db.close()
    assert by_status == {1: REQUESTS * PER_REQUEST}, (by_status, handed_before)
    assert len(handed) == REQUESTS * PER_REQUEST


async def _send_all(port: int) -> int:
    accepted = 0
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for request in range(REQUESTS):
            first = request * PER_REQUEST
            phones = ",".join(f"7916{first + n:07d}" for n in range(PER_REQUEST))
            data = {
                "login": "load", "psw": PASSWORD, "phones": phones,
                "mes": f"crash {request}", "fmt": "3",
            }  # fmt: skip
            body = (await client.post("/sys/send.php", data=data)).json()
            accepted += int(body["cnt"])
    return accepted
