"""Inbound (rented) numbers: the platform admin's catalogue, renting through receive_phones.php and
the monthly renewal (http-api.md §12).

Buying charges the rest of the month pro rata (``domain/inbound.py``) and renting and debiting are one
transaction, answered after its commit; without enough money (balance + credit) nothing changes and
the answer is error 3. :meth:`InboundNumberService.renew_due` is the renewal job: every node may run
it (the housekeeping loop does, every minute); each number is renewed in a transaction that first
re-reads and locks its row and does nothing when it is no longer as seen, so a number is charged
once per month however many nodes or runs meet it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.account_codes import AccountRefusal
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.inbound import next_month_start, pro_rata
from smsgate.domain.money import to_ledger
from smsgate.domain.phones import PhoneFormatError, normalise
from smsgate.errors import RequestError, SmsgateError
from smsgate.services.refusals import refuse
from smsgate.store.db import Database
from smsgate.store.repos import inbound_numbers as repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.inbound_numbers import NumberRecord, RenewOutcome, RentOutcome
from smsgate.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

RENEW_BATCH = 100


class NumberAdminError(SmsgateError):
    """An admin request about the catalogue that cannot be carried out."""


@dataclass(frozen=True, slots=True)
class Renewals:
    renewed: int = 0
    released: int = 0


class InboundNumberService:
    def __init__(self, db: Database, writer: GroupCommitWriter, clock: Clock) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock

    # --- the admin's catalogue ------------------------------------------------------------------

    async def add(self, phone: str, cost: Decimal, country: str = "") -> str:
        """Offer ``phone`` for rent at ``cost`` a month; the number as stored."""
        number = _number_or(phone, NumberAdminError(f"invalid phone number {phone!r}"))
        if cost < 0:
            raise NumberAdminError("the monthly cost must not be negative")
        now = self._clock.now()
        monthly = to_ledger(cost)

        async def op(conn: AsyncConnection) -> bool:
            return await repo.add(conn, number, country.strip()[:64], monthly, now)

        if not await self._writer.submit(op):
            raise NumberAdminError(f"number {number} is already offered")
        return number

    async def remove(self, phone: str, *, force: bool = False) -> NumberRecord:
        """Withdraw a number; a rented one only with ``force`` (its renter loses it at once)."""
        number = _number_or(phone, NumberAdminError(f"invalid phone number {phone!r}"))

        async def op(conn: AsyncConnection) -> NumberRecord | None:
            return await repo.remove(conn, number, force=force)

        removed = await self._writer.submit(op)
        if removed is None:
            raise NumberAdminError(f"no number {number}")
        if removed.account_id is not None and not force:
            raise NumberAdminError(f"number {number} is rented; --force withdraws it anyway")
        return removed

    async def catalogue(self) -> list[NumberRecord]:
        async with self._db.read() as conn:
            return await repo.list_all(conn)

    # --- receive_phones.php ---------------------------------------------------------------------

    async def visible(self, account: AccountRecord) -> list[NumberRecord]:
        """Free numbers and the account's own (http-api.md §12 ``get``)."""
        async with self._db.read() as conn:
            return await repo.visible_to(conn, account.id)

    async def buy(self, account: AccountRecord, phone: str, *, noprolong: bool | None) -> None:
        """Rent ``phone`` to ``account`` for the rest of the month; error 5 when it is not free
        (or unknown), error 3 without money. Buying one's own number again charges nothing."""
        number = _number_or(phone, _invalid(phone))
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> RentOutcome:
            record = await repo.get(conn, number)
            price = pro_rata(record.cost, now) if record is not None else Decimal(0)
            return await repo.rent(
                conn, number, account.id, price, next_month_start(now), noprolong, now
            )

        outcome = await self._writer.submit(op)
        if outcome is RentOutcome.NOT_AVAILABLE:
            raise refuse(AccountRefusal.NUMBER_NOT_AVAILABLE)
        if outcome is RentOutcome.NO_MONEY:
            raise refuse(AccountRefusal.NUMBER_NO_MONEY)

    async def set_noprolong(self, account: AccountRecord, phone: str, noprolong: bool) -> None:
        """Renew the account's number next month (False) or let it go (True); error 5 for a
        number that is not the account's."""
        number = _number_or(phone, _invalid(phone))

        async def op(conn: AsyncConnection) -> bool:
            return await repo.set_noprolong(conn, number, account.id, noprolong)

        if not await self._writer.submit(op):
            raise refuse(AccountRefusal.NUMBER_NOT_AVAILABLE)

    # --- renewal --------------------------------------------------------------------------------

    async def renew_due(self, limit: int = RENEW_BATCH) -> Renewals:
        """Renew or release every number whose paid period has ended: the monthly cost is
        charged, or without money (or with ``noprolong``) the number becomes free. Works in
        batches of ``limit`` until none is left. Safe to run on every node at once (module
        docstring)."""
        total = Renewals()
        while True:
            done, seen = await self._renew_batch(limit)
            total = Renewals(total.renewed + done.renewed, total.released + done.released)
            if seen < limit or done == Renewals():
                return total

    async def _renew_batch(self, limit: int) -> tuple[Renewals, int]:
        now = self._clock.now()
        async with self._db.read() as conn:
            due = await repo.due(conn, now, limit)
        renewed = released = 0
        for seen in due:
            # A period that ended months ago (the job did not run) restarts from this month.
            paid_till = next_month_start(max(now, seen.paid_till or now))

            async def op(
                conn: AsyncConnection, seen: NumberRecord = seen, paid_till: float = paid_till
            ) -> RenewOutcome:
                return await repo.renew(conn, seen, paid_till, now)

            outcome = await self._writer.submit(op)
            if outcome is RenewOutcome.RENEWED:
                renewed += 1
            elif outcome is RenewOutcome.RELEASED:
                released += 1
                log.info("inbound number %s released (account %s)", seen.phone, seen.account_id)
        return Renewals(renewed, released), len(due)


def _invalid(phone: str) -> RequestError:
    return RequestError(RequestErrorCode.PARAMETERS, f"invalid phone number {phone[:40]!r}")


def _number_or(phone: str, error: RequestError | NumberAdminError) -> str:
    try:
        return normalise(phone)
    except PhoneFormatError:
        raise error from None
