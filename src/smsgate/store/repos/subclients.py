"""Sub-clients: their policies, balance transfers and statistics (http-api.md §7).

Every query that names a sub-client also names its main account, so one main account can never reach
another's sub-clients through this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, and_, cast, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageStatus
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import account_policies, accounts, messages, payments
from smsgate.store.types import from_money_units

# Statuses given at acceptance to recipients that were refused: they do not count toward limits
# or statistics.
_REFUSED = (int(MessageStatus.WRONG_NUMBER), int(MessageStatus.PROHIBITED))


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    account_id: int
    share_type: int
    dlim: int | None
    plim: int | None
    tlim: int | None
    ilim: int | None
    tmlim: str | None
    fmts: str
    flags: str
    profile: str

    @classmethod
    def from_row(cls, row: RowMapping) -> PolicyRecord:
        return cls(**{name: row[name] for name in cls.__slots__})


_ACCOUNT_COLUMNS = [accounts.c[name] for name in AccountRecord.__slots__]
_POLICY_COLUMNS = [account_policies.c[name] for name in PolicyRecord.__slots__]


async def get_policy(conn: AsyncConnection, account_id: int) -> PolicyRecord | None:
    row = (
        (
            await conn.execute(
                select(*_POLICY_COLUMNS).where(account_policies.c.account_id == account_id)
            )
        )
        .mappings()
        .first()
    )
    return PolicyRecord.from_row(row) if row else None


async def put_policy(conn: AsyncConnection, account_id: int, now: float, **values: Any) -> None:
    """Insert or change the policy row of an account (only the given columns change)."""
    changed = await conn.execute(
        update(account_policies)
        .where(account_policies.c.account_id == account_id)
        .values(updated_at=now, **values)
    )
    if changed.rowcount == 0:
        await conn.execute(
            insert(account_policies).values(account_id=account_id, updated_at=now, **values)
        )


async def find_child(
    conn: AsyncConnection, parent_id: int, *, login: str | None = None, child_id: int | None = None
) -> AccountRecord | None:
    """A sub-client of ``parent_id`` by login or id; None when it is not one of its sub-clients."""
    condition = accounts.c.parent_id == parent_id
    if login is not None:
        condition = and_(condition, accounts.c.login == login.lower())
    elif child_id is not None:
        condition = and_(condition, accounts.c.id == child_id)
    else:
        return None
    row = (await conn.execute(select(*_ACCOUNT_COLUMNS).where(condition))).mappings().first()
    return AccountRecord.from_row(row) if row else None


async def list_children(
    conn: AsyncConnection, parent_id: int
) -> Sequence[tuple[AccountRecord, PolicyRecord | None]]:
    query = (
        select(*_ACCOUNT_COLUMNS, *[c.label(f"p_{c.name}") for c in _POLICY_COLUMNS])
        .select_from(
            accounts.outerjoin(account_policies, account_policies.c.account_id == accounts.c.id)
        )
        .where(accounts.c.parent_id == parent_id)
        .order_by(accounts.c.id)
    )
    result = []
    for row in (await conn.execute(query)).mappings():
        policy = None
        if row["p_account_id"] is not None:
            policy = PolicyRecord(**{n: row[f"p_{n}"] for n in PolicyRecord.__slots__})
        result.append((AccountRecord.from_row(row), policy))
    return result


async def transfer(
    conn: AsyncConnection, payer_id: int, payee_id: int, amount: Decimal, now: float
) -> bool:
    """Move ``amount`` (> 0) from payer to payee in the caller's transaction; False, changing
    nothing, when the payer's balance would drop below ``-credit_limit``.

    Both rows are locked in id order first (PostgreSQL; SQLite transactions are serial), so two
    transfers in opposite directions on several nodes cannot deadlock; the debit is one conditional
    UPDATE, so the balance check and the change are one step.
    """
    await conn.execute(
        select(accounts.c.id)
        .where(accounts.c.id.in_([payer_id, payee_id]))
        .order_by(accounts.c.id)
        .with_for_update()
    )
    debited = await conn.execute(
        update(accounts)
        .where(accounts.c.id == payer_id, accounts.c.balance - amount >= -accounts.c.credit_limit)
        .values(balance=accounts.c.balance - amount, updated_at=now)
    )
    if debited.rowcount != 1:
        return False
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == payee_id)
        .values(balance=accounts.c.balance + amount, updated_at=now)
    )
    await conn.execute(
        insert(payments).values(payer_id=payer_id, payee_id=payee_id, amount=amount, at=now)
    )
    return True


async def daily_counts(
    conn: AsyncConnection,
    account_id: int,
    since: float,
    phones: Iterable[str],
    *,
    user_ip: str | None,
) -> tuple[int, dict[str, int], dict[tuple[str, str], int], int]:
    """(total, per phone, per phone and text, per end-user IP) of the account's messages stored
    since ``since``, refused recipients not counted."""
    base = and_(
        messages.c.account_id == account_id,
        messages.c.created_at >= since,
        messages.c.status.notin_(_REFUSED),
    )
    total = int(
        (await conn.execute(select(func.count()).select_from(messages).where(base))).scalar_one()
    )
    per_phone: dict[str, int] = {}
    per_text: dict[tuple[str, str], int] = {}
    wanted = sorted(set(phones))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = await conn.execute(
            select(messages.c.phone, messages.c.text, func.count())
            .where(base, messages.c.phone.in_(chunk))
            .group_by(messages.c.phone, messages.c.text)
        )
        for phone, text, count in rows:
            per_phone[phone] = per_phone.get(phone, 0) + int(count)
            per_text[(phone, text)] = int(count)
    per_ip = 0
    if user_ip:
        # send.php stores ``userip`` among the message options (a JSON object, sorted keys); the
        # address was validated, so it holds no LIKE wildcards.
        pattern = f'%"userip": "{user_ip}"%'
        per_ip = int(
            (
                await conn.execute(
                    select(func.count())
                    .select_from(messages)
                    .where(base, messages.c.options.like(pattern))
                )
            ).scalar_one()
        )
    return total, per_phone, per_text, per_ip


@dataclass(frozen=True, slots=True)
class Spending:
    account_id: int
    day: int  # days since the epoch in the account zone; 0 when not grouped by day
    msg_type: int  # -1 when not grouped by type
    parts: int
    cost: Decimal


async def spending(
    conn: AsyncConnection,
    account_ids: Sequence[int],
    start: float,
    end: float,
    *,
    by_day_and_type: bool = False,
    offset_s: int = 0,
) -> Sequence[Spending]:
    """Parts sent and money spent per account (and per day and message type) for messages created
    in ``[start, end)``; ``offset_s`` shifts Unix time to the accounts' zone for the day."""
    if not account_ids:
        return []
    # Whole seconds, then integer division: the same day number on both back ends.
    day = cast(messages.c.created_at + offset_s, BigInteger) // 86400
    keys: list[Any] = [messages.c.account_id]
    if by_day_and_type:
        keys += [day, messages.c.msg_type]
    query = (
        select(
            *keys,
            func.sum(messages.c.parts),
            func.sum(messages.c.cost, type_=BigInteger),  # ledger units, summed exactly
        )
        .where(
            messages.c.account_id.in_(account_ids),
            messages.c.created_at >= start,
            messages.c.created_at < end,
            messages.c.status.notin_(_REFUSED),
        )
        .group_by(*keys)
        .order_by(*keys)
    )
    result = []
    for row in await conn.execute(query):
        account_id, parts, cost = row[0], row[-2], row[-1]
        day_no, msg_type = (row[1], row[2]) if by_day_and_type else (0, -1)
        result.append(
            Spending(
                int(account_id),
                int(day_no),
                int(msg_type),
                int(parts or 0),
                from_money_units(int(cost or 0)),
            )
        )
    return result


async def received(
    conn: AsyncConnection, account_ids: Sequence[int], start: float, end: float
) -> dict[int, Decimal]:
    """Net money each account received by transfers in ``[start, end)`` (in minus out)."""
    if not account_ids:
        return {}
    net: dict[int, Decimal] = {}
    query = select(payments.c.payee_id, payments.c.payer_id, payments.c.amount).where(
        payments.c.at >= start,
        payments.c.at < end,
        (payments.c.payee_id.in_(account_ids)) | (payments.c.payer_id.in_(account_ids)),
    )
    for row in (await conn.execute(query)).mappings():
        if row["payee_id"] in account_ids:
            net[row["payee_id"]] = net.get(row["payee_id"], Decimal(0)) + row["amount"]
        if row["payer_id"] in account_ids:
            net[row["payer_id"]] = net.get(row["payer_id"], Decimal(0)) - row["amount"]
    return net
