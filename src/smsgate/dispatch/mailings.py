"""The mailing scheduler: expands each due run of a mailing (jobs.php) into messages.

Every ``poll_interval`` the scheduler claims due mailings under a lease (``store/repos/mailing_jobs``).
A run allocates one request id for all its recipients, as one send.php request does. Its entries
(``phones`` items, ``list`` lines, ``G<n>`` members) are prepared ``batch_size`` at a time exactly as
send.php prepares a request — numbers, blacklist, prices, the account's rules — and each batch is
stored in one transaction that first moves the run's ``run_done`` forward on the condition that the
claim is still current, then debits the batch and inserts its messages. When the balance cannot pay
for a batch, its recipients and every later one get status 24 (insufficient funds).

Crash safety: a runner that dies leaves its claim with a lease that runs out; the next claim takes
the run over at ``run_done`` and skips recipients already stored for the run, so nobody gets two
messages. A cancel or delete withdraws the claim: the runner's next batch is refused and it stops.

A mailing being resumed (``resume=1``) first has its stopped messages priced, charged and released
(status -1) batch by batch, then its open run goes on. When the run is complete the next one is
scheduled from ``rpt``/``rptn`` or the mailing is completed. The fl[5] repeats of failed messages
run in the same loop (``dispatch/mailing_repeats.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import replace
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock, utc_datetime
from smsgate.dispatch.mailing_repeats import MailingRepeater
from smsgate.domain.codes import MessageStatus, MessageType
from smsgate.domain.mailings import (
    Entry,
    MailingError,
    MailingStatus,
    Repeat,
    as_request_text,
    entries,
    next_run,
    release_times,
    unpack,
)
from smsgate.domain.pricing import message_cost
from smsgate.domain.sending import PreparedSend, SendRequest, resolve_type
from smsgate.domain.smsc_time import parse_spread
from smsgate.errors import RequestError, StorageError
from smsgate.services.container import Services
from smsgate.services.sending import SendingService, SendLists, message_rows, try_debit
from smsgate.store.db import Database
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import events as event_repo
from smsgate.store.repos import mailing_jobs as repo
from smsgate.store.repos import mailings as message_repo
from smsgate.store.repos import messages as msg_repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.dispatch import StatusChange
from smsgate.store.repos.mailing_jobs import MailingRecord
from smsgate.store.repos.messages import NewMessage
from smsgate.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
LEASE_S = 60.0
POLL_INTERVAL_S = 1.0
WORKERS = 2


class _Lost(Exception):
    """The claim is no longer current: cancelled, deleted, or taken over."""


def scheduler_for(services: Services) -> MailingScheduler:
    """The mailing scheduler on one node's services (started by the gateway)."""
    return MailingScheduler(
        services.db,
        services.writer,
        services.sending,
        services.contacts,
        services.clock,
        node_id=services.settings.node_id or socket.gethostname(),
    )


class MailingScheduler:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        sending: SendingService,
        lists: SendLists,
        clock: Clock,
        *,
        node_id: str,
        batch_size: int = BATCH_SIZE,
        lease: float = LEASE_S,
        poll_interval: float = POLL_INTERVAL_S,
        workers: int = WORKERS,
    ) -> None:
        self._db = db
        self._writer = writer
        self._sending = sending
        self._lists = lists
        self._clock = clock
        self._node_id = node_id
        self._batch_size = batch_size
        self._lease = lease
        self._poll_interval = poll_interval
        self._workers = workers
        self._running: set[asyncio.Task[None]] = set()
        self.repeats = MailingRepeater(db, writer, sending, clock)

    async def run(self) -> None:
        """Forever: a :meth:`step` and the fl[5] repeats every ``poll_interval``; runs in
        progress are cancelled when this is (their leases run out and another node takes them
        over)."""
        try:
            while True:
                try:
                    await self.step()
                except Exception:  # a database hiccup must not stop the mailings for good
                    log.exception("mailing scheduler step failed")
                try:
                    await self.repeats.run_until_idle()
                except Exception:
                    log.exception("mailing repeat step failed")
                await self._clock.sleep(self._poll_interval)
        finally:
            for started in self._running:
                started.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    async def step(self) -> list[asyncio.Task[None]]:
        """Claim as many due mailings as this node has room for and run each in a task."""
        free = self._workers - len(self._running)
        started: list[asyncio.Task[None]] = []
        for job in await self.claim(free) if free > 0 else []:
            task = asyncio.create_task(self.execute(job), name=f"mailing-{job.id}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            started.append(task)
        return started

    async def run_until_idle(self) -> int:
        """Claim and run due mailings until none is due (tests, the CLI); how many runs."""
        done = 0
        while claimed := await self.claim(self._workers):
            await asyncio.gather(*(self.execute(job) for job in claimed))
            done += len(claimed)
        return done

    async def claim(self, limit: int) -> list[MailingRecord]:
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> list[MailingRecord]:
            return await repo.claim(
                conn, now=now, lease_until=now + self._lease, runner=self._node_id, limit=limit
            )

        return await self._writer.submit(op)

    async def execute(self, job: MailingRecord) -> None:
        """Carry a claimed mailing as far as it goes now; never raises but for cancellation."""
        try:
            async with self._db.read() as conn:
                account = await account_repo.get_by_id(conn, job.account_id)
            if account is None or account.disabled:
                raise MailingError("account disabled")
            if job.resume:
                await self._release_stopped(job, account)
            if job.run_open:
                await self._expand(job, account)
            await self._close(job, account)
        except _Lost:
            log.info("mailing run stopped", extra={"mailing": job.id})
        except StorageError:
            log.exception("mailing run lost the database", extra={"mailing": job.id})
        except (RequestError, MailingError, ValueError) as exc:
            # A run that cannot go on: sender revoked, account disabled, a setting now refused.
            log.warning("mailing failed", extra={"mailing": job.id, "error": str(exc)})
            await self._release(job, MailingStatus.FAILED, None, str(exc)[:500])
        except Exception as exc:  # an unexpected row or setting: fail the job, not the runner
            log.exception("mailing run failed", extra={"mailing": job.id})
            error = f"{type(exc).__name__}: {exc}"[:500]
            with contextlib.suppress(StorageError):
                await self._release(job, MailingStatus.FAILED, None, error)

    # --- expanding a run ------------------------------------------------------------------------

    async def _expand(self, job: MailingRecord, account: AccountRecord) -> None:
        async with self._db.read() as conn:
            base = unpack(await repo.request_of(conn, job.id))
            seen = (
                await message_repo.run_recipients(conn, job.account_id, job.id, job.run_id or "")
                if job.run_done
                else set()
            )
        expanded = await self._entries(account, base)
        total = len(expanded)
        spread = parse_spread(base.period, base.freq)
        run_at = utc_datetime(job.run_at if job.run_at is not None else self._clock.now())
        due = release_times(spread, total, run_at) if spread is not None else None
        test = job.test or account.test_mode
        payer = await self._sending.payer_id(account)
        done, broke, first = job.run_done, job.run_broke, True
        while done < total:
            batch = expanded[done : done + self._batch_size]
            prepared = await self._prepare(account, base, batch, seen)
            if due is not None:
                times = due[done : done + len(prepared.recipients)]
                recipients = tuple(
                    replace(r, due_at=max(r.due_at, t))
                    for r, t in zip(prepared.recipients, times, strict=False)
                )
                prepared = replace(prepared, recipients=recipients)
            rows = message_rows(
                account,
                prepared,
                self._clock.now(),
                test,
                job_id=job.id,
                client_id=job.run_id or "",
            )
            broke = await self._store(
                job, rows, done, done + len(batch), total, payer, broke=broke, first=first
            )
            seen.update(r.phone for r in prepared.recipients)
            done, first = done + len(batch), False
            await asyncio.sleep(0)  # let the listeners in between batches

    async def _entries(self, account: AccountRecord, base: SendRequest) -> list[Entry]:
        """The run's entries with every ``G<n>`` replaced by the group's members now."""
        given = entries(base.phones, base.list_text)
        refs = sorted({e.group for e in given if e.group is not None})
        if not refs:
            return given
        lists = await self._lists.send_lists(account.id, refs)
        mail = resolve_type(base.msg_type, base.mes)[0] == MessageType.MAIL
        expanded: list[Entry] = []
        for entry in given:
            group = entry.group
            if group is None:
                expanded.append(entry)
                continue
            members = lists.groups.get(group)
            if members is not None:
                found = members.mails if mail else members.phones
                expanded.extend(Entry(member, entry.text) for member in found)
        return expanded

    async def _prepare(
        self, account: AccountRecord, base: SendRequest, batch: list[Entry], seen: set[str]
    ) -> PreparedSend:
        """A batch prepared as a send.php request would be, without recipients stored before."""
        phones, list_text = as_request_text(batch)
        request = replace(
            base, phones=phones, list_text=list_text, time="", tz=None, period=None, freq=None
        )
        prepared = await self._sending.prepare_batch(account, replace(request, mass=True))
        fresh: dict[str, None] = {}
        recipients = []
        for r in prepared.recipients:
            if r.phone not in seen and r.phone not in fresh:
                fresh[r.phone] = None
                recipients.append(r)
        return replace(prepared, recipients=tuple(recipients))

    async def _store(
        self,
        job: MailingRecord,
        rows: list[NewMessage],
        done_before: int,
        done_after: int,
        total: int,
        payer: int,
        *,
        broke: bool,
        first: bool,
    ) -> bool:
        """One batch in one transaction; whether the run is out of money from here on."""
        now = self._clock.now()
        lease_until = now + self._lease

        async def op(conn: AsyncConnection) -> bool | None:
            advanced = await repo.advance(
                conn,
                job,
                done_before=done_before,
                done_after=done_after,
                total=total,
                lease_until=lease_until,
                now=now,
            )
            if not advanced:
                return None
            out_of_money = broke
            charge = sum((row.cost for row in rows), Decimal(0))
            if charge and not out_of_money:
                out_of_money = await try_debit(conn, payer, charge, now) is None
            stored = rows
            if out_of_money:
                charge = Decimal(0)
                stored = [_starved(row, now) for row in rows]
            ids = await msg_repo.insert_many(conn, stored)
            final = [
                StatusChange(i, row.account_id, row.status, row.err)
                for i, row in zip(ids, stored, strict=True)
                if row.status != MessageStatus.WAITING
            ]
            await event_repo.record(conn, final, now)
            await repo.add_cost(
                conn, job.id, charge, broke=out_of_money, cnt=total if first else None
            )
            return out_of_money

        outcome = await self._writer.submit(op)
        if outcome is None:
            raise _Lost
        return outcome

    # --- resuming -------------------------------------------------------------------------------

    async def _release_stopped(self, job: MailingRecord, account: AccountRecord) -> None:
        """Charge and release the stopped messages, batch by batch; those the balance cannot pay
        for get status 24."""
        payer = await self._sending.payer_id(account)
        broke = False
        while True:
            async with self._db.read() as conn:
                stopped = await message_repo.stopped_batch(conn, job.id, self._batch_size)
            if not stopped:
                break
            keys = {(m.msg_type, m.country, m.operator) for m in stopped}
            prices = await self._sending.unit_prices(account, keys)
            priced = [
                (m, _resume_cost(prices[(m.msg_type, m.country, m.operator)], m.parts, m.test))
                for m in stopped
            ]
            broke = await self._release_batch(job, priced, payer, broke)

        async def op(conn: AsyncConnection) -> bool:
            return await repo.resumed(conn, job)

        if not await self._writer.submit(op):
            raise _Lost

    async def _release_batch(
        self,
        job: MailingRecord,
        priced: list[tuple[message_repo.StoppedMessage, Decimal]],
        payer: int,
        broke: bool,
    ) -> bool:
        now = self._clock.now()
        lease_until = now + self._lease

        async def op(conn: AsyncConnection) -> bool | None:
            if not await repo.renew(conn, job, lease_until):
                return None
            charge = sum((cost for _, cost in priced), Decimal(0))
            out_of_money = broke or (
                bool(charge) and await try_debit(conn, payer, charge, now) is None
            )
            if out_of_money:
                await message_repo.starve_stopped(conn, [m for m, _ in priced], now)
            else:
                await message_repo.release_stopped(conn, priced, now)
            return out_of_money

        outcome = await self._writer.submit(op)
        if outcome is None:
            raise _Lost
        return outcome

    # --- closing --------------------------------------------------------------------------------

    async def _close(self, job: MailingRecord, account: AccountRecord) -> None:
        """The run is complete: schedule the next one (``rpt``, ``rptn``) or complete the job."""
        now = self._clock.now()
        upcoming = None
        if job.rptn is None or job.runs < job.rptn:
            after = max(now, job.run_at or now)
            upcoming = next_run(job.first_run_at, after, Repeat(job.rpt), account.tz_minutes)
        status = MailingStatus.WAITING if upcoming is not None else MailingStatus.DONE
        if not await self._release(job, status, upcoming, None):
            raise _Lost

    async def _release(
        self, job: MailingRecord, status: MailingStatus, upcoming: float | None, error: str | None
    ) -> bool:
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> bool:
            return await repo.release(
                conn, job, status=status, next_run_at=upcoming, now=now, error=error
            )

        return await self._writer.submit(op)


def _starved(row: NewMessage, now: float) -> NewMessage:
    """A message the run could not pay for: status 24, cost 0."""
    if row.status != MessageStatus.WAITING:
        return row
    return replace(row, status=int(MessageStatus.NO_FUNDS), cost=Decimal(0), due_at=now)


def _resume_cost(price: Decimal | None, parts: int, test: bool) -> Decimal:
    if test or price is None:
        return Decimal(0)
    return message_cost(price, parts)
