"""Nothing an SMTP ``250`` acknowledged is ever lost, and nothing is half-stored: SIGKILL the real
``smsgate run`` process in the middle of a load of concurrent SMTP connections (protocols.md §2.5:
"Success, sent only after every resulting message is durably stored"; protocols.md, preamble: an
accepted message "MUST be durably stored before it is acknowledged").

Every mail carries a text of its own, which identifies its messages in the store. After the kill:

* a mail answered ``250`` has every one of its messages in the store, each with its debit, and the
  reply's parts and id match them;
* a mail answered with an error has no message in the store;
* a mail cut off by the kill (no reply) went either way, but as a whole: all its messages with
  their debits, or none;
* each account's balance is its opening balance less the cost of exactly its stored messages.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import select

from smsgate.config import DatabaseSettings, normalise_database_url
from smsgate.store.db import Database
from smsgate.store.schema import accounts, messages
from tests.support.gateway import cli, gateway_env, gateway_process

PASSWORD = "crash-test-1"
LOGINS = ("mail1", "mail2")
CONNECTIONS_PER_LOGIN = 8  # 16 in all; below limits.concurrent (15 requests per login)
KILL_AFTER = 300  # mails answered 250 before the kill
PRICE = Decimal("1.00")
BALANCE = Decimal("100000")
PREFIXES = ("7916", "7926", "7903")  # MTS, MegaFon, Beeline in the demo numbering plan
INVALID = "12345"  # error 7: the mail is refused and nothing is stored
_ACCEPTED = re.compile(r"^2\.0\.0 OK - (\d+) SMS, ID - (\S+)$")


@dataclass(frozen=True, slots=True)
class Sent:
    """One mail of the load: its account, its unique text, the recipients it should yield."""

    login: str
    text: str
    phones: frozenset[str]
    client_id: str | None  # None: allocated (free-form mails)


@dataclass(slots=True)
class Outcomes:
    accepted: dict[str, tuple[Sent, int, str]] = field(default_factory=dict)  # text → (mail, n, id)
    refused: dict[str, Sent] = field(default_factory=dict)
    cut_off: dict[str, Sent] = field(default_factory=dict)  # no reply: the kill came first


@dataclass(frozen=True, slots=True)
class Row:
    login: str
    client_id: str
    phone: str
    text: str
    parts: int
    cost: Decimal


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_sigkill_mid_smtp_load_loses_no_acknowledged_mail(
    database_url: str, tmp_path: Path
) -> None:
    # Every recipient is delivered (no refunds), so that a stored message keeps its debit.
    env = gateway_env(database_url, tmp_path, SMSGATE_SIMULATOR_RULES="")
    for login in LOGINS:
        cli(env, "account", "create", login, "--password", PASSWORD, "--balance", str(BALANCE))
    cli(env, "tariff", "set", str(PRICE))
    with gateway_process(env) as (server, ports):
        outcomes = await _load_until_killed(server, ports["smtp"])

    assert len(outcomes.accepted) >= KILL_AFTER and outcomes.refused, (
        len(outcomes.accepted),
        len(outcomes.refused),
    )
    rows, balances = await _read_store(database_url)
    by_text: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_text[row.text].append(row)

    for text, (sent, parts, request_id) in outcomes.accepted.items():
        stored = by_text.get(text, [])
        assert {r.phone for r in stored} == sent.phones, f"acknowledged mail {text!r} lost"
        assert len(stored) == len(sent.phones), text
        assert sent.client_id in (None, request_id), (text, request_id)
        assert all(r.login == sent.login and r.client_id == request_id for r in stored), text
        assert sum(r.parts for r in stored) == parts, text
        assert all(r.cost == PRICE * r.parts for r in stored), text
    for text in outcomes.refused:
        assert text not in by_text, f"refused mail {text!r} stored"
    for text, sent in outcomes.cut_off.items():
        stored = by_text.get(text, [])
        assert stored == [] or {r.phone for r in stored} == sent.phones, f"{text!r} half-stored"
        assert len(stored) in (0, len(sent.phones)), text
        assert all(r.cost == PRICE * r.parts for r in stored), text
    sent_texts = outcomes.accepted.keys() | outcomes.cut_off.keys()
    assert set(by_text) <= sent_texts, "messages of no mail in the store"
    # Each stored message was paid for, and nothing else was taken.
    for login in LOGINS:
        spent = sum((r.cost for r in rows if r.login == login), Decimal(0))
        assert balances[login] == BALANCE - spent, login
    print(
        f"accepted {len(outcomes.accepted)}, refused {len(outcomes.refused)}, "
        f"cut off {len(outcomes.cut_off)} "
        f"({sum(1 for t in outcomes.cut_off if t in by_text)} of them stored)"
    )


def _mail_of(n: int) -> tuple[Sent, list[str], bytes]:
    """Mail number ``n``: (what it should yield, the RCPT addresses, the message).

    Every 7th is refused (error 7); every 5th is free-form to two ``<phone>@`` addresses with the
    credentials in the Subject; the others are ``send@`` colon mails to one to three numbers.
    """
    login = LOGINS[n % len(LOGINS)]
    text = f"smtp crash {n}"
    if n % 7 == 0:
        body = f"{login}:{PASSWORD}:{n}:::{INVALID}:{text}"
        return Sent(login, text, frozenset(), str(n)), ["send@smsgate.test"], _message(body)
    if n % 5 == 0:
        phones = [f"{prefix}{n:07d}" for prefix in PREFIXES[:2]]
        to = [f"{phone}@smsgate.test" for phone in phones]
        message = _message(text, subject=f"{login}:{PASSWORD}")
        return Sent(login, text, frozenset(phones), None), to, message
    phones = [f"{prefix}{n:07d}" for prefix in PREFIXES[: 1 + n % 3]]
    body = f"{login}:{PASSWORD}:{n}:::{','.join(phones)}:{text}"
    return Sent(login, text, frozenset(phones), str(n)), ["send@smsgate.test"], _message(body)


def _message(body: str, *, subject: str = "") -> bytes:
    headers = "From: load@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n"
    if subject:
        headers += f"Subject: {subject}\r\n"
    return f"{headers}\r\n{body}\r\n".encode()


async def _load_until_killed(server: subprocess.Popen[str], port: int) -> Outcomes:
    outcomes = Outcomes()
    killed = asyncio.Event()
    numbers = itertools.count(1)

    def kill_once() -> None:
        if len(outcomes.accepted) >= KILL_AFTER and not killed.is_set():
            killed.set()
            server.send_signal(signal.SIGKILL)

    async def one_mail(smtp: aiosmtplib.SMTP) -> bool:
        """One transaction; False once the connection is gone after the kill."""
        sent, to, message = _mail_of(next(numbers))
        try:
            code, text = await _transaction(smtp, to, message)
        except (aiosmtplib.SMTPException, OSError):
            if not killed.is_set():
                raise
            outcomes.cut_off[sent.text] = sent
            return False
        if code != 250:
            outcomes.refused[sent.text] = sent
            return await _reset(smtp, killed)
        found = _ACCEPTED.match(text)
        assert found, text
        outcomes.accepted[sent.text] = (sent, int(found.group(1)), found.group(2))
        kill_once()
        return True

    async def connection() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
        await smtp.connect()
        try:
            while await one_mail(smtp):
                pass
        finally:
            smtp.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS_PER_LOGIN * len(LOGINS))))
    return outcomes


async def _transaction(smtp: aiosmtplib.SMTP, to: list[str], message: bytes) -> tuple[int, str]:
    """The final reply to one mail: the DATA reply, or the first refusal before it. Losing the
    connection raises."""
    try:
        await smtp.mail("load@example.com")
        for address in to:
            await smtp.rcpt(address)
        reply = await smtp.data(message)
    except aiosmtplib.SMTPResponseException as exc:  # a reply (a lost connection is not one)
        return exc.code, exc.message
    return reply.code, reply.message


async def _reset(smtp: aiosmtplib.SMTP, killed: asyncio.Event) -> bool:
    """RSET after a refusal; False when the connection is gone after the kill."""
    try:
        await smtp.rset()
    except (aiosmtplib.SMTPException, OSError):
        if not killed.is_set():
            raise
        return False
    return True


async def _read_store(database_url: str) -> tuple[list[Row], dict[str, Decimal]]:
    db = Database.open(DatabaseSettings(url=normalise_database_url(database_url)), pooled=False)
    try:
        async with db.read() as conn:
            query = select(
                accounts.c.login,
                messages.c.client_id,
                messages.c.phone,
                messages.c.text,
                messages.c.parts,
                messages.c.cost,
            ).join(accounts, accounts.c.id == messages.c.account_id)
            rows = [Row(*row) for row in await conn.execute(query)]
            result = await conn.execute(select(accounts.c.login, accounts.c.balance))
            balances = {str(row.login): Decimal(row.balance) for row in result}
    finally:
        await db.close()
    return rows, balances
