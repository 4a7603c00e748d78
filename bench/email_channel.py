"""Benchmark: mails per second the e-mail channel hands to an SMTP relay (issue 9).

A bare aiosmtpd relay on 127.0.0.1 (every mail answered ``250``, nothing stored) receives batches
from :class:`smsgate.channels.email.EmailChannel` directly (no database: this measures the channel,
composition and SMTP transactions, not the dispatcher). Each mail has a Cyrillic subject and body;
``--attachment`` adds a file of that many octets. The ceiling printed next to it is one aiosmtplib
client sending pre-built mails over one connection per pool slot: what any channel built on
aiosmtplib could reach here.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/email_channel.py --mails 2000 --pool 1 --pool 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import time
from collections.abc import Sequence

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from smsgate.channels.base import Accepted, OutgoingMessage
from smsgate.channels.email import EmailChannel
from smsgate.clock import SystemClock
from smsgate.config import EmailSettings
from smsgate.domain.email_delivery import MailAttachment

BATCH = 100


class _Sink:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


def _messages(count: int, attachment: bool) -> list[OutgoingMessage]:
    options = {"subj": "Счёт за ноябрь"}
    if attachment:
        options["att"] = "1"
    return [
        OutgoingMessage(
            id=i,
            phone=f"user{i}@example.ru",
            msg_type=8,
            sender="shop@example.ru",
            text="Здравствуйте! Ваш счёт готов.",
            parts=1,
            encoding=1,
            options=json.dumps(options, ensure_ascii=False),
            test=False,
        )
        for i in range(1, count + 1)
    ]


async def _channel_rate(port: int, mails: int, pool: int, attachment_size: int) -> float:
    files = [MailAttachment("счёт.pdf", "application/pdf", b"x" * attachment_size)]

    async def source(ids: Sequence[int]) -> Sequence[MailAttachment]:
        return files

    settings = EmailSettings(
        host="127.0.0.1",
        port=port,
        default_from="noreply@bench.test",
        helo_name="bench",
        pool_size=pool,
    )
    messages = _messages(mails, attachment_size > 0)
    async with EmailChannel(settings, SystemClock(), attachments=source) as channel:
        started = time.perf_counter()
        for at in range(0, len(messages), BATCH):
            outcomes = await channel.submit(messages[at : at + BATCH])
            assert all(isinstance(o, Accepted) for o in outcomes), outcomes
            channel.due_receipts(0)
        return mails / (time.perf_counter() - started)


async def _ceiling(port: int, mails: int, pool: int) -> float:
    content = b"From: a@b.ru\r\nTo: c@d.ru\r\nSubject: x\r\n\r\nbody\r\n"

    async def one_connection(count: int) -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="bench")
        await smtp.connect()
        for _ in range(count):
            await smtp.sendmail("a@b.ru", ["c@d.ru"], content)
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection(mails // pool) for _ in range(pool)))
    return (mails // pool * pool) / (time.perf_counter() - started)


def _commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--pool", type=int, action="append")
    parser.add_argument("--attachment", type=int, default=0, help="octets of one attachment")
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(_Sink(), hostname="relay", enable_SMTPUTF8=True), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    commit = _commit()
    print(
        f"machine: {platform.node()} {platform.processor() or platform.machine()}, commit {commit}"
    )
    for pool in args.pool or [1, 4]:
        rate = await _channel_rate(port, args.mails, pool, args.attachment)
        ceiling = await _ceiling(port, args.mails, pool)
        print(f"pool {pool}: {rate:8.0f} mails/s  (ceiling, bare aiosmtplib: {ceiling:8.0f}/s)")
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
