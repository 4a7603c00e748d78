"""Mailings (jobs.php, http-api.md §5): store, read, cancel, delete and resume them.

Adding a mailing stores one row — its send request packed, its schedule — and nothing else; the
scheduler (``dispatch/mailings.py``) expands each run into messages. The request is checked here as
far as it can be without touching every recipient: every parameter by preparing the first few
recipients as a send would, the schedule, the groups named, the number of entries. Only ``cost``≥1
(the estimated cost of one run) prices every recipient.

Cancelling stops the mailing's waiting messages (status -2) and refunds them in the same transaction;
``resume=1`` (smsgate definition, docs/decisions.md) hands a cancelled mailing back to the scheduler,
which charges and releases the stopped messages batch by batch and finishes the run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock, utc_datetime
from smsgate.domain.codes import MessageType, RequestErrorCode
from smsgate.domain.contacts import request_group_refs
from smsgate.domain.mailings import (
    MAX_RECIPIENTS,
    Entry,
    MailingError,
    MailingStatus,
    Repeat,
    as_request_text,
    count_entries,
    entries,
    pack,
)
from smsgate.domain.sending import SendRequest
from smsgate.domain.smsc_time import TimeFormatError, parse_send_time, parse_tz
from smsgate.errors import RequestError
from smsgate.services.sending import SendingService, SendLists
from smsgate.store.db import Database
from smsgate.store.repos import mailing_jobs as repo
from smsgate.store.repos import mailings as message_repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.mailing_jobs import MailingRecord
from smsgate.store.writer import GroupCommitWriter

# Recipients prepared when a mailing is added, to check its parameters as a send would.
PROBE_ENTRIES = 20
# Codes a probe may end with that say nothing about the parameters (no valid recipient among the
# first few, an empty group: the run finds out).
_RECIPIENT_CODES = frozenset({RequestErrorCode.INVALID_PHONE, RequestErrorCode.CANNOT_DELIVER})


@dataclass(frozen=True, slots=True)
class NewMailing:
    """What ``add=1`` asked for: the send request (template applied) and the mailing's own fields."""

    name: str
    request: SendRequest
    rpt: Repeat = Repeat.NONE
    rptn: int | None = None
    retry: bool = False
    sender2: str | None = None
    mes2: str | None = None
    test: bool = False
    estimate: bool = False


@dataclass(frozen=True, slots=True)
class CheckedMailing:
    """A mailing ready to store, with the estimated cost of one run when it was asked for."""

    values: dict[str, Any]
    cost: Decimal | None


def record_error(detail: str) -> RequestError:
    """Error 3 of jobs.php: record not saved / job not found."""
    return RequestError(RequestErrorCode.NO_MONEY, detail, description="record save error")


class MailingService:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        clock: Clock,
        sending: SendingService,
        lists: SendLists,
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._sending = sending
        self._lists = lists

    async def check(self, account: AccountRecord, new: NewMailing) -> CheckedMailing:
        """Check ``new`` as far as it can be without touching every recipient (see the module
        docstring); refusals raise :class:`RequestError` (1, 5)."""
        request = replace(new.request, mass=True)
        now = self._clock.now()
        try:
            tz = parse_tz(request.tz, account.tz_minutes)
            first = parse_send_time(request.time, tz, utc_datetime(now))
        except TimeFormatError as exc:
            raise RequestError(exc.code, exc.detail) from None
        run_request = replace(request, time="", tz=None)
        cnt = await self._count(account, run_request)
        probe = await self._probe(account, run_request)
        cost: Decimal | None = None
        if new.estimate:
            prepared = await self._sending.prepare_batch(account, run_request)
            cost = Decimal(0) if new.test or account.test_mode else prepared.cost
        values: dict[str, Any] = {
            "account_id": account.id,
            "name": new.name,
            "status": int(MailingStatus.WAITING),
            "created_at": now,
            "updated_at": now,
            "first_run_at": first.timestamp() if first else now,
            "next_run_at": first.timestamp() if first else now,
            "rpt": int(new.rpt),
            "rptn": new.rptn,
            "msg_type": int(probe[0]),
            "sender": probe[1],
            "mes": request.mes if request.list_text is None else "",
            "request": pack(request),
            "cnt": cnt,
            "test": new.test,
            "retry": new.retry,
            "sender2": new.sender2,
            "mes2": new.mes2,
        }
        return CheckedMailing(values, cost)

    async def store(self, checked: CheckedMailing) -> int:
        """Store a checked mailing (one row); its id, once committed."""

        async def op(conn: AsyncConnection) -> int:
            return await repo.insert_mailing(conn, checked.values)

        return await self._writer.submit(op)

    async def _count(self, account: AccountRecord, request: SendRequest) -> int:
        """Entries of the mailing, groups counted by their members; error 1 for none, too many,
        a ``list`` line without ``:`` or a group the account does not have."""
        try:
            cnt = count_entries(request.phones, request.list_text)
            if request.list_text is not None:
                entries(request.phones, request.list_text)  # every line has its ':'
        except MailingError as exc:
            raise RequestError(RequestErrorCode.PARAMETERS, str(exc)) from None
        refs = request_group_refs(request.phones, request.list_text)
        if refs:
            lists = await self._lists.send_lists(account.id, refs)
            missing = [ref for ref in refs if ref not in lists.groups]
            if missing:
                raise RequestError(RequestErrorCode.PARAMETERS, f"group not found: G{missing[0]}")
            mail = request.msg_type == MessageType.MAIL
            members = sum(len(g.mails if mail else g.phones) for g in lists.groups.values())
            cnt += members - len(refs)
        if cnt <= 0:
            raise RequestError(RequestErrorCode.PARAMETERS, "no recipients")
        if cnt > MAX_RECIPIENTS:
            raise RequestError(
                RequestErrorCode.PARAMETERS, f"more than {MAX_RECIPIENTS} recipients"
            )
        return cnt

    async def _probe(
        self, account: AccountRecord, request: SendRequest
    ) -> tuple[MessageType, str | None]:
        """Prepare the first few recipients as a send would: every parameter error surfaces
        (an unapproved sender too, as error 1); the type and the sender in use."""
        head = _first_entries(request, PROBE_ENTRIES)
        phones, list_text = as_request_text(head)
        sample = replace(request, phones=phones, list_text=list_text)
        try:
            prepared = await self._sending.prepare_batch(account, sample)
        except RequestError as exc:
            if exc.code in _RECIPIENT_CODES:
                return request.msg_type or MessageType.SMS, request.sender
            if exc.code is RequestErrorCode.FORBIDDEN:
                raise RequestError(RequestErrorCode.PARAMETERS, exc.detail or "forbidden") from None
            raise
        return prepared.msg_type, prepared.sender

    async def get(self, account: AccountRecord, mailing_id: int) -> MailingRecord:
        async with self._db.read() as conn:
            found = await repo.get(conn, account.id, mailing_id)
        if found is None:
            raise record_error("job not found")
        return found

    async def list(self, account: AccountRecord, start: float, end: float) -> list[MailingRecord]:
        async with self._db.read() as conn:
            return await repo.list_for(conn, account.id, start, end)

    async def cancel(
        self, account: AccountRecord, mailing_id: int, *, delete: bool = False
    ) -> None:
        """Cancel (or delete) the mailing: no more runs, its waiting messages stopped (-2) and
        refunded in the same transaction; messages already handed over go on."""
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> bool:
            change = repo.delete if delete else repo.cancel
            if not await change(conn, account.id, mailing_id, now):
                return False
            await message_repo.stop_waiting(conn, mailing_id, now)
            await message_repo.refund_stopped(conn, mailing_id, now)
            return True

        if not await self._writer.submit(op):
            raise record_error("job not found")

    async def resume(self, account: AccountRecord, mailing_id: int) -> None:
        """A cancelled or failed mailing goes on where it stopped (smsgate definition)."""
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> str:
            found = await repo.get(conn, account.id, mailing_id)
            if found is None:
                return "missing"
            if found.status not in (MailingStatus.CANCELLED, MailingStatus.FAILED):
                return "state"
            return "ok" if await repo.resume(conn, found, now) else "state"

        outcome = await self._writer.submit(op)
        if outcome == "missing":
            raise record_error("job not found")
        if outcome == "state":
            raise RequestError(RequestErrorCode.PARAMETERS, "only a cancelled job can be resumed")


def _first_entries(request: SendRequest, count: int) -> list[Entry]:
    """The first ``count`` entries of the request (cheap: stops reading early)."""
    if request.list_text is None:
        head = request.phones[: 64 * count]
        cut = max(head.rfind(","), head.rfind(";"), head.rfind("\n"))
        text = head if len(head) == len(request.phones) or cut < 0 else head[:cut]
        return entries(text, None)[:count]
    lines = request.list_text.split("\n", count)[:count]
    return entries("", "\n".join(lines))[:count]
