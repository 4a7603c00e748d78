"""fl[5] repeats of mailings (jobs.php, http-api.md §5, smsgate definition).

A recipient whose message of a run ends in 3 (expired), 20 (undeliverable) or 25 (unavailable)
gets one repeat, with ``sender2`` (default: the run's sender) and ``mes2`` (default: the run's
text); for a Viber mailing the repeat is an SMS. A repeat is a message of the mailing like the
run's (``job_id``, priority 1, the run's request id, so status.php on the run's id and the phone
reports the repeat) and is prepared as send.php prepares a request: numbers, blacklist, sender,
prices, the account's rules; it is debited from the paying balance, or stored with 24 when the
balance cannot pay.

The step looks at the mailings flagged ``retry_open`` (set by every claim of an fl[5] mailing) and
takes their failed, unsettled messages ``batch_size`` at a time. Each batch is stored in one
transaction that first settles the originals (``store/repos/mailing_repeats.settle``, a primary
key per original) and stores repeats only for the originals it settled itself, so steps running
twice at once — on two nodes, or a step killed and run again — never repeat anyone twice. A
mailing none of whose messages can still fail unrepeated is closed (``retry_open`` cleared).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.codes import MessageStatus, MessageType
from smsgate.domain.mailings import MailingStatus, unpack
from smsgate.domain.message_text import split_prefix
from smsgate.domain.sending import SendRequest
from smsgate.errors import RequestError
from smsgate.services.sending import SendingService, message_rows, try_debit
from smsgate.store.db import Database
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import events as event_repo
from smsgate.store.repos import mailing_jobs as job_repo
from smsgate.store.repos import mailing_repeats as repo
from smsgate.store.repos import messages as msg_repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.dispatch import StatusChange
from smsgate.store.repos.mailing_repeats import Failed, OpenMailing
from smsgate.store.repos.messages import NewMessage
from smsgate.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
# Mailings looked at per step (round robin over the open ones).
MAILINGS_PER_STEP = 100


@dataclass(frozen=True, slots=True)
class RepeatRequest:
    """The repeat of some failed originals as one send request; ``signed`` False for texts that
    already carry the account's signature (the stored text of a ``list`` line)."""

    request: SendRequest
    originals: Sequence[Failed]
    signed: bool = True


def repeat_requests(
    base: SendRequest, mailing: OpenMailing, failed: Sequence[Failed]
) -> list[RepeatRequest]:
    """The send requests that repeat ``failed`` (each phone at most once): ``mes2`` or the run's
    text, ``sender2`` or the run's sender; a Viber mailing's repeat is an SMS."""
    sms = mailing.msg_type == MessageType.VIBER
    common = replace(
        base,
        phones="",
        list_text=None,
        time="",
        tz=None,
        period=None,
        freq=None,
        sender=mailing.sender2 or base.sender,
        msg_type=MessageType.SMS if sms else base.msg_type,
        mass=True,
    )
    if mailing.mes2 or base.list_text is None:
        mes = mailing.mes2 or base.mes
        if sms:  # the Viber prefix, if any, would contradict the SMS type
            mes = split_prefix(mes)[1]
        phones = ",".join(f.phone for f in failed)
        return [RepeatRequest(replace(common, phones=phones, mes=mes), failed)]
    # ``list`` lines: each recipient's own text as it was sent (signed and transliterated).
    by_text: dict[str, list[Failed]] = {}
    for f in failed:
        by_text.setdefault(f.text, []).append(f)
    return [
        RepeatRequest(
            replace(
                common,
                phones=",".join(f.phone for f in group),
                mes=text,
                translit=0,
                signature="",
            ),
            group,
            signed=False,
        )
        for text, group in by_text.items()
    ]


class MailingRepeater:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        sending: SendingService,
        clock: Clock,
        *,
        batch_size: int = BATCH_SIZE,
        mailings_per_step: int = MAILINGS_PER_STEP,
    ) -> None:
        self._db = db
        self._writer = writer
        self._sending = sending
        self._clock = clock
        self._batch_size = batch_size
        self._mailings_per_step = mailings_per_step
        self._after = 0

    async def run_until_idle(self) -> int:
        """Steps until one finds nothing to repeat; how many originals were settled."""
        total = 0
        while settled := await self.step():
            total += settled
        return total

    async def step(self) -> int:
        """One batch for each of up to ``mailings_per_step`` open mailings (the next ones after
        those of the last step); how many originals were settled."""
        async with self._db.read() as conn:
            found = await repo.open_mailings(conn, self._after, self._mailings_per_step)
        full = len(found) == self._mailings_per_step
        self._after = found[-1].id if full else 0
        settled = 0
        for mailing in found:
            try:
                settled += await self._repeat(mailing)
            except RequestError as exc:
                log.warning(
                    "mailing repeat refused", extra={"mailing": mailing.id, "error": str(exc)}
                )
            except Exception:  # one mailing's bad row must not stop the others' repeats
                log.exception("mailing repeat failed", extra={"mailing": mailing.id})
        return settled

    async def _repeat(self, mailing: OpenMailing) -> int:
        """One batch of the mailing's failed messages repeated (or the mailing closed)."""
        async with self._db.read() as conn:
            failed = (
                []
                if mailing.status == MailingStatus.CANCELLED
                else await repo.failed(conn, mailing, self._batch_size)
            )
            account = await account_repo.get_by_id(conn, mailing.account_id)
            stored = await job_repo.request_of(conn, mailing.id) if failed else b""
        if not failed:
            await self._close(mailing)
            return 0
        if account is None or account.disabled:
            return 0
        batch = _first_per_phone(failed)
        rows = await self._rows(account, mailing, unpack(stored), batch)
        await self._store(mailing, [f.id for f in batch], rows, account)
        return len(batch)

    async def _rows(
        self, account: AccountRecord, mailing: OpenMailing, base: SendRequest, batch: list[Failed]
    ) -> list[tuple[int, NewMessage]]:
        """(original id, repeat) for each original that gets a repeat; a refused request (e.g. an
        unapproved ``sender2``) repeats nobody of its originals."""
        now = self._clock.now()
        test = mailing.test or account.test_mode
        rows: list[tuple[int, NewMessage]] = []
        for repeat in repeat_requests(base, mailing, batch):
            try:
                prepared = await self._sending.prepare_batch(
                    account, repeat.request, signed=repeat.signed
                )
            except RequestError as exc:
                log.warning(
                    "mailing repeat refused", extra={"mailing": mailing.id, "error": str(exc)}
                )
                continue
            by_phone = {f.phone: f for f in repeat.originals}
            for row in message_rows(account, prepared, now, test, job_id=mailing.id):
                original = by_phone.get(row.phone)
                if original is not None:
                    comment = row.comment if row.comment is not None else original.comment
                    rows.append(
                        (original.id, replace(row, client_id=original.client_id, comment=comment))
                    )
        return rows

    async def _store(
        self,
        mailing: OpenMailing,
        originals: list[int],
        rows: list[tuple[int, NewMessage]],
        account: AccountRecord,
    ) -> int:
        """Settle ``originals`` and store the repeats of those this transaction settled, debited
        (or with 24 when the balance cannot pay); how many repeats were stored."""
        payer = await self._sending.payer_id(account)
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> int:
            mine = await repo.settle(conn, mailing.id, originals, now)
            owned = [(o, row) for o, row in rows if o in mine]
            stored = [row for _, row in owned]
            charge = sum((row.cost for row in stored), Decimal(0))
            if charge and await try_debit(conn, payer, charge, now) is None:
                stored = [_starved(row, now) for row in stored]
            ids = await msg_repo.insert_many(conn, stored)
            await repo.mark_repeats(
                conn, mailing.id, [(i, o) for i, (o, _) in zip(ids, owned, strict=True)], now
            )
            await event_repo.record(
                conn,
                [
                    StatusChange(i, row.account_id, row.status, row.err)
                    for i, row in zip(ids, stored, strict=True)
                    if row.status != MessageStatus.WAITING
                ],
                now,
            )
            costs: dict[str, Decimal] = {}
            for row in stored:
                costs[row.client_id] = costs.get(row.client_id, Decimal(0)) + row.cost
            await repo.add_run_cost(conn, mailing.id, costs)
            return len(stored)

        return await self._writer.submit(op)

    async def _close(self, mailing: OpenMailing) -> None:
        async def op(conn: AsyncConnection) -> bool:
            return await repo.close(conn, mailing)

        await self._writer.submit(op)


def _first_per_phone(failed: list[Failed]) -> list[Failed]:
    """One original per phone (a phone that failed in two runs is repeated twice, one batch
    after the other: a request sends each number once)."""
    seen: set[str] = set()
    batch = []
    for f in failed:
        if f.phone not in seen:
            seen.add(f.phone)
            batch.append(f)
    return batch


def _starved(row: NewMessage, now: float) -> NewMessage:
    """A repeat the balance cannot pay for: status 24, cost 0."""
    if row.status != MessageStatus.WAITING:
        return row
    return replace(row, status=int(MessageStatus.NO_FUNDS), cost=Decimal(0), due_at=now)
