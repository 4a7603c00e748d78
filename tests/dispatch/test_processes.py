"""Several dispatcher processes on one database hand every message over exactly once (issue 4)."""

from __future__ import annotations

import asyncio
import os
import sys
from decimal import Decimal
from pathlib import Path

from smsgate.domain.pricing import TariffRule
from smsgate.domain.sending import SendRequest
from smsgate.services.container import Services
from smsgate.services.sending import SendOptions
from tests.support.clock import ManualClock

PROCESSES = 4
MESSAGES = 4000
REPO = Path(__file__).resolve().parents[2]


async def test_four_processes_hand_each_message_over_once(
    services: Services, database_url: str, clock: ManualClock
) -> None:
    account = await services.accounts.create("bulk", "password-1", balance=Decimal(10**6))
    await services.tariffs.set(TariffRule(price=Decimal("0.01")))
    phones = ",".join(f"7916{n:07d}" for n in range(1, 1001))
    for request in range(MESSAGES // 1000):
        await services.sending.send(
            account, SendRequest(phones=phones, mes=f"bulk {request}"), SendOptions()
        )
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.dispatch.claim_worker",
            database_url,
            str(clock.now()),
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    outputs = await asyncio.gather(*(w.communicate() for w in workers))
    assert [w.returncode for w in workers] == [0] * PROCESSES
    handed = [int(line) for out, _ in outputs for line in out.decode().split()]
    per_process = [len(out.decode().split()) for out, _ in outputs]
    print("hand-overs per process:", per_process)
    assert len(handed) == MESSAGES, per_process
    assert len(set(handed)) == MESSAGES  # nobody handed a message over twice
