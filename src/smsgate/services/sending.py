"""Sending: check, price, debit and durably store messages (http-api.md §2, protocols.md §1).

Every ingress (send.php, /rest/send/, later SMPP, SMTP, SOAP) calls :meth:`SendingService.send`. The
pure checks happen in ``domain/sending.py``; here the sender name is checked against the store, then
one write operation of the group-commit writer refuses a duplicate, allocates the request id, debits
the balance (never below ``-credit_limit``) and inserts the messages, all in one transaction. The
caller is answered only after that transaction has committed, so an acknowledged message is never lost.

The batch kind serves many requests with a handful of statements per transaction: one duplicate
count, one UPDATE per account for ids and debits, one multi-row INSERT of messages, one of request
fingerprints, and one DELETE ending the failed-send runs of the senders' IPs.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum
from typing import Protocol

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock, utc_datetime
from smsgate.domain.codes import DUPLICATE_REQUEST, MessageStatus, MessageType, RequestErrorCode
from smsgate.domain.contacts import request_group_refs
from smsgate.domain.links import LinkSlot, LinkStyle, restore
from smsgate.domain.sending import (
    NO_LISTS,
    AccountLists,
    AccountTerms,
    PreparedSend,
    Recipient,
    SendError,
    SendRequest,
    prepare,
    summarise,
)
from smsgate.errors import RequestError
from smsgate.services.guards import Guards
from smsgate.services.numbering import NumberingService
from smsgate.services.send_rules import SendRules
from smsgate.services.senders import SenderService
from smsgate.services.short_links import LinkedMessage, attach_links
from smsgate.services.tariffs import TariffService
from smsgate.store.repos import events as event_repo
from smsgate.store.repos import guards as guard_repo
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.dispatch import StatusChange
from smsgate.store.repos.messages import NewMessage
from smsgate.store.schema import accounts
from smsgate.store.writer import LIGHT_ROWS, Batched, GroupCommitWriter

# Request errors that carry the request id (http-api.md §2.5).
_ERRORS_WITH_ID = frozenset(
    {
        RequestErrorCode.NO_MONEY,
        RequestErrorCode.FORBIDDEN,
        RequestErrorCode.INVALID_PHONE,
        RequestErrorCode.CANNOT_DELIVER,
    }
)


class SendLists(Protocol):
    """The account's contact groups and blacklist as a send needs them (services.contacts)."""

    async def send_lists(self, account_id: int, refs: Sequence[int]) -> AccountLists: ...


class CostMode(Enum):
    """``cost`` (codes.md §9): 0 send; 1 price only; 2 send + cost; 3 send + cost + balance."""

    SEND = 0
    PRICE = 1
    SEND_COST = 2
    SEND_COST_BALANCE = 3


@dataclass(frozen=True, slots=True)
class SendOptions:
    """How the request is to be carried out, beside what it sends."""

    client_id: str = ""  # "" = allocate the next id of the account
    cost: CostMode = CostMode.SEND
    test: bool = False
    # What makes the request "identical" for the duplicate-send limit (services.guards).
    fingerprint: str = ""
    # The client's address: a stored send ends its run of failed sends (http-api.md §1.7).
    ip: str = ""
    # SMPP (protocols.md §3.4): the submit_sm's registered_delivery, kept for its receipts; the
    # request id is the message id (status.php finds an SMPP message by its message_id); and a
    # concatenated message fills the placeholder allocated at its first segment (§3.6).
    smpp_receipt: int | None = None
    placeholder_id: int | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    request_id: str | None
    parts: int
    cost: Decimal
    balance: Decimal | None
    recipients: tuple[Recipient, ...]
    voice_code: str | None = None
    message_ids: tuple[int, ...] = ()


class _Outcome(Enum):
    OK = "ok"
    DUPLICATE = "duplicate"
    NO_MONEY = "no money"


@dataclass(slots=True)
class _Work:
    account_id: int
    login: str
    client_id: str
    charge: Decimal
    fingerprint: str
    rows: list[NewMessage]
    ip: str = ""
    # SMPP: the request id is the message id; a placeholder message to fill instead of a new one.
    smpp: bool = False
    placeholder_id: int | None = None
    # The account whose balance pays (a sub-client may use its main account's); 0 = account_id.
    payer_id: int = 0
    # ``tinyurl=1``: the short links of each row (in row order), minted once the rows are stored.
    links: list[tuple[LinkSlot, ...]] = field(default_factory=list)
    # Filled in by the batch.
    outcome: _Outcome = _Outcome.OK
    balance: Decimal | None = None
    message_ids: list[int] = field(default_factory=list)


class _StoreSends:
    """The batch kind that stores accepted send requests (see the module docstring)."""

    def __init__(
        self,
        guards: Guards,
        clock: Clock,
        duplicate_limit: int,
        window: float,
        link_code_length: int = 8,
    ) -> None:
        self._guards = guards
        self._clock = clock
        self._duplicate_limit = duplicate_limit
        self._window = window
        self._link_code_length = link_code_length

    async def run(self, conn: AsyncConnection, items: Sequence[_Work]) -> list[_Work]:
        await self._guards.lock_logins(conn, [w.login for w in items])
        now = self._clock.now()
        live = await self._refuse_duplicates(conn, items, now)
        await _allocate_ids(conn, [w for w in live if not w.client_id and not w.smpp])
        paid = await _debit(conn, live, now)
        new = [w for w in paid if w.placeholder_id is None]
        rows = [row for w in new for row in w.rows]
        client_ids = [w.client_id for w in new for _ in w.rows]
        ids = iter(await message_repo.insert_many(conn, rows, client_ids))
        for work in new:
            work.message_ids = [next(ids) for _ in work.rows]
        linked = [
            LinkedMessage(message_id, work.account_id, row.text, slots)
            for work in new
            for message_id, row, slots in zip(work.message_ids, work.rows, work.links, strict=True)
            if slots
        ]
        await attach_links(conn, linked, now, self._link_code_length)  # tinyurl=1 (issue 7)
        for work in paid:
            if work.placeholder_id is not None:
                await message_repo.fill_placeholder(conn, work.placeholder_id, work.rows[0])
                work.message_ids = [work.placeholder_id]
        smpp_ids = [i for w in paid if w.smpp for i in w.message_ids]
        if smpp_ids:
            await message_repo.use_message_id_as_request_id(conn, smpp_ids)
            for work in paid:
                if work.smpp:
                    work.client_id = str(work.message_ids[0])
        await _log_rejected(paid, now, conn)
        await guard_repo.log_requests(conn, [(w.login, w.fingerprint) for w in paid], now)
        await guard_repo.reset_send_failures(conn, {w.ip for w in paid if w.ip})
        return list(items)

    async def _refuse_duplicates(
        self, conn: AsyncConnection, items: Sequence[_Work], now: float
    ) -> list[_Work]:
        counts = await guard_repo.count_requests(
            conn, [w.login for w in items], [w.fingerprint for w in items], now - self._window
        )
        live = []
        for work in items:
            key = (work.login, work.fingerprint)
            if counts[key] >= self._duplicate_limit:
                work.outcome = _Outcome.DUPLICATE
                continue
            counts[key] += 1
            live.append(work)
        return live


async def _log_rejected(paid: Sequence[_Work], now: float, conn: AsyncConnection) -> None:
    """Recipients rejected at acceptance get one event with their final status (for callbacks,
    http-api.md §14); accepted ones get theirs from the dispatcher."""
    rejected = [
        StatusChange(message_id, row.account_id, row.status, row.err)
        for work in paid
        for message_id, row in zip(work.message_ids, work.rows, strict=True)
        if row.status != MessageStatus.WAITING
    ]
    await event_repo.record(conn, rejected, now)


# Hot statements are built once: building a statement costs several times what running it does.
_NEXT_REQUEST_IDS = (
    update(accounts)
    .where(accounts.c.id == bindparam("account_id"))
    .values(last_request_id=accounts.c.last_request_id + bindparam("n"))
    .returning(accounts.c.last_request_id)
)
_AMOUNT = bindparam("amount", type_=accounts.c.balance.type)
_DEBIT = (
    update(accounts)
    .where(
        accounts.c.id == bindparam("account_id"),
        accounts.c.balance - _AMOUNT >= -accounts.c.credit_limit,
    )
    .values(
        balance=accounts.c.balance - _AMOUNT,
        updated_at=bindparam("now", type_=accounts.c.updated_at.type),
    )
    .returning(accounts.c.balance)
)


async def _allocate_ids(conn: AsyncConnection, items: Sequence[_Work]) -> None:
    """Give each request without a client id the next value of its account's counter."""
    by_account: dict[int, list[_Work]] = defaultdict(list)
    for work in items:
        by_account[work.account_id].append(work)
    for account_id, works in by_account.items():
        n = len(works)
        result = await conn.execute(_NEXT_REQUEST_IDS, {"account_id": account_id, "n": n})
        last = int(result.scalar_one())
        for offset, work in enumerate(works):
            work.client_id = str(last - n + 1 + offset)


async def _debit(conn: AsyncConnection, items: Sequence[_Work], now: float) -> list[_Work]:
    """Debit every request, all of an account's at once when the balance allows, else one by one
    in arrival order; those that would go below ``-credit_limit`` are refused (no money)."""
    by_account: dict[int, list[_Work]] = defaultdict(list)
    for work in items:
        by_account[work.payer_id or work.account_id].append(work)
    paid: list[_Work] = []
    for account_id, works in by_account.items():
        total = sum((w.charge for w in works), Decimal(0))
        balance = await try_debit(conn, account_id, total, now)
        if balance is not None:
            for work in reversed(works):  # each sees the balance right after its own debit
                work.balance = balance
                balance += work.charge
            paid.extend(works)
            continue
        for work in works:
            work.balance = await try_debit(conn, account_id, work.charge, now)
            if work.balance is None:
                work.outcome = _Outcome.NO_MONEY
            else:
                paid.append(work)
    return paid


async def try_debit(
    conn: AsyncConnection, account_id: int, amount: Decimal, now: float
) -> Decimal | None:
    """Take ``amount`` unless the balance would drop below ``-credit_limit``; the new balance."""
    params = {"account_id": account_id, "amount": amount, "now": now}
    balance: Decimal | None = (await conn.execute(_DEBIT, params)).scalar_one_or_none()
    return balance


class SendingService:
    def __init__(
        self,
        writer: GroupCommitWriter,
        guards: Guards,
        numbering: NumberingService,
        tariffs: TariffService,
        senders: SenderService,
        clock: Clock,
        *,
        duplicate_limit: int,
        window: float,
        rules: SendRules | None = None,
        lists: SendLists | None = None,
        links: LinkStyle | None = None,
    ) -> None:
        self._writer = writer
        self._links = links  # tinyurl=1 (issue 7)
        # Account management (issue 7): shared tariffs and balances, limits, operator templates.
        self._rules = rules
        self._lists = lists
        self._numbering = numbering
        self._tariffs = tariffs
        self._senders = senders
        self._clock = clock
        self._store = _StoreSends(
            guards, clock, duplicate_limit, window, links.code_length if links else 8
        )

    async def send(
        self, account: AccountRecord, request: SendRequest, options: SendOptions
    ) -> SendResult:
        """Accept ``request`` for ``account``; answered only after the messages are committed.

        Raises :class:`RequestError` for refused requests, with the request id where the spec
        wants one (errors 3, 6, 7, 8).
        """
        test = options.test or account.test_mode
        if self._links is not None and request.options.get("tinyurl") == "1":
            request = replace(request, short_links=self._links)
        try:
            sender = await self._senders.resolve(account, request.sender, request.msg_type)
        except RequestError as exc:  # error 6 carries the request id
            if options.cost is CostMode.PRICE:
                raise
            exc.request_id = options.client_id or await self._allocate_id(account)
            raise
        prepared = await self._checked(account, replace(request, sender=sender), options)
        if options.cost is CostMode.PRICE:
            if not prepared.accepted:  # price-only errors never carry an id (§2.5)
                raise RequestError(summarise(prepared.recipients))
            return SendResult(None, prepared.parts, prepared.cost, None, prepared.recipients)
        if not prepared.accepted:
            request_id = options.client_id or await self._allocate_id(account)
            raise RequestError(summarise(prepared.recipients), request_id=request_id)
        work = _Work(
            account_id=account.id,
            login=account.login,
            client_id=options.client_id,
            charge=Decimal(0) if test else prepared.cost,
            fingerprint=options.fingerprint or secrets.token_hex(16),
            rows=message_rows(account, prepared, self._clock.now(), test, options.smpp_receipt),
            ip=options.ip,
            smpp=options.smpp_receipt is not None,
            placeholder_id=options.placeholder_id,
            payer_id=await self._rules.payer_id(account) if self._rules else 0,
            links=[r.links if r.accepted else () for r in prepared.recipients],
        )
        light = len(work.rows) <= LIGHT_ROWS
        done: _Work = await self._writer.submit(Batched(self._store, work), light=light)
        if done.outcome is _Outcome.DUPLICATE:
            raise RequestError(RequestErrorCode.TOO_MANY, description=DUPLICATE_REQUEST)
        if done.outcome is _Outcome.NO_MONEY:
            raise RequestError(RequestErrorCode.NO_MONEY, request_id=done.client_id)
        recipients = prepared.recipients
        if test:
            recipients = tuple(replace(r, cost=Decimal(0)) for r in recipients)
        return SendResult(
            request_id=done.client_id,
            parts=prepared.parts,
            cost=work.charge,
            balance=done.balance,
            recipients=recipients,
            voice_code=prepared.voice_code,
            message_ids=tuple(done.message_ids),
        )

    # --- mailings (jobs.php): a run is prepared and stored batch by batch by the scheduler ---

    async def prepare_batch(
        self, account: AccountRecord, request: SendRequest, *, signed: bool = True
    ) -> PreparedSend:
        """``request`` checked, priced and shaped as a send would be, nothing stored; refusals
        raise :class:`RequestError` without a request id. ``signed=False`` leaves out the
        account's auto-signature (texts that already carry it: fl[5] repeats of ``list`` lines)."""
        sender = await self._senders.resolve(account, request.sender, request.msg_type)
        options = SendOptions(cost=CostMode.PRICE)
        return await self._checked(account, replace(request, sender=sender), options, signed)

    async def unit_prices(
        self, account: AccountRecord, keys: set[tuple[int, str | None, str | None]]
    ) -> dict[tuple[int, str | None, str | None], Decimal | None]:
        """The account's price of one part for each (type, country, operator)."""
        plan = await self._rules.tariff_plan(account) if self._rules else account.tariff_plan
        table = await self._tariffs.table()
        return {
            key: table.price(
                country=key[1], operator=key[2], msg_type=MessageType(key[0]), plan=plan
            )
            for key in keys
        }

    async def payer_id(self, account: AccountRecord) -> int:
        """The account whose balance pays for ``account``'s messages."""
        return (await self._rules.payer_id(account) if self._rules else 0) or account.id

    async def _checked(
        self,
        account: AccountRecord,
        request: SendRequest,
        options: SendOptions,
        signed: bool = True,
    ) -> PreparedSend:
        """The request prepared and shaped by the account's rules (signature, limits, templates)."""
        if self._rules is not None and signed:
            request = replace(request, signature=await self._rules.signature(account))
        try:
            prepared = await self._prepare(account, request)
        except RequestError as exc:  # e.g. 7 for groups without members
            if exc.code in _ERRORS_WITH_ID and options.cost is not CostMode.PRICE:
                exc.request_id = options.client_id or await self._allocate_id(account)
            raise
        if self._rules is not None:
            prepared = await self._rules.shape(account, prepared, request.options.get("userip"))
        return prepared

    async def _prepare(self, account: AccountRecord, request: SendRequest) -> PreparedSend:
        tariff_plan = await self._rules.tariff_plan(account) if self._rules else account.tariff_plan
        terms = AccountTerms(account.tz_minutes, tariff_plan, account.test_mode)
        plan = await self._numbering.plan()
        tariffs = await self._tariffs.table()
        lists = NO_LISTS
        if self._lists is not None:
            refs = request_group_refs(request.phones, request.list_text)
            lists = await self._lists.send_lists(account.id, refs)
        try:
            return prepare(
                request, terms, plan, tariffs, utc_datetime(self._clock.now()), _voice_code, lists
            )
        except SendError as exc:
            raise RequestError(exc.code, exc.detail) from exc

    async def _allocate_id(self, account: AccountRecord) -> str:
        work = _Work(account.id, account.login, "", Decimal(0), "", [])

        async def op(conn: AsyncConnection) -> str:
            await _allocate_ids(conn, [work])
            return work.client_id

        return await self._writer.submit(op)


def _priority(prepared: PreparedSend) -> int:
    """0 for voice codes and single sends, 1 for mailings (a request with several recipients)."""
    if prepared.voice_code is not None or prepared.msg_type == MessageType.CALL:
        return 0
    return 0 if len(prepared.recipients) == 1 else 1


def _voice_code() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def message_rows(
    account: AccountRecord,
    prepared: PreparedSend,
    now: float,
    test: bool,
    smpp_receipt: int | None = None,
    *,
    job_id: int | None = None,
    client_id: str = "",
) -> list[NewMessage]:
    """The messages to store for ``prepared``; a mailing's (``job_id``) are of priority 1."""
    rows = []
    valid_s = prepared.valid.total_seconds()
    priority = 1 if job_id is not None else _priority(prepared)
    for r in prepared.recipients:
        status = r.status if r.status is not None else MessageStatus.WAITING
        rows.append(
            NewMessage(
                account_id=account.id,
                client_id=client_id,
                phone=r.phone,
                msg_type=int(prepared.msg_type),
                sender=prepared.sender,
                # A refused recipient's text keeps its URLs: no codes are minted for it.
                text=r.text if r.accepted or not r.links else restore(r.text, r.links),
                comment=prepared.comment,
                status=int(status),
                err=int(r.err),
                parts=r.parts,
                cost=Decimal(0) if test or not r.accepted else r.cost,
                encoding=r.encoding,
                country=r.country,
                operator=r.operator,
                operator_orig=r.operator_orig,
                region=r.region,
                mccmnc=r.mccmnc or None,
                test=test,
                options=prepared.options,
                created_at=now,
                updated_at=now,
                due_at=r.due_at if r.accepted else now,
                valid_until=(r.due_at + valid_s) if r.accepted else now,
                priority=priority,
                smpp_receipt=smpp_receipt,
                job_id=job_id,
            )
        )
    return rows
