"""Contacts, contact groups and group membership (http-api.md §6).

Every function takes the account id and touches only that account's rows: a contact or group id of
another account is "not found" here, never changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from smsgate.domain.contacts import GroupMembers
from smsgate.store.schema import contact_groups, contact_members, contacts

MAX_ID = 2**31 - 1
# Contact columns a client sets (http-api.md §6 "Contact fields", without id and grp).
CONTACT_FIELDS = ("phone", "mail", "name", "lnm", "fnm", "mnm", "bd", "myid", "pho", "tags", "cmt")


@dataclass(frozen=True, slots=True)
class ContactRecord:
    id: int
    account_id: int
    phone: str | None
    mail: str | None
    name: str
    lnm: str
    fnm: str
    mnm: str
    bd: str
    myid: str
    pho: str
    tags: str
    cmt: str
    created_at: float
    updated_at: float
    groups: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupRecord:
    id: int
    account_id: int
    num: int | None
    name: str
    kind: int
    created_at: float
    cnt: int = 0


_CONTACT_COLUMNS = [contacts.c[f.name] for f in fields(ContactRecord) if f.name != "groups"]
_GROUP_COLUMNS = [contact_groups.c[f.name] for f in fields(GroupRecord) if f.name != "cnt"]


def _contact(row: RowMapping, groups: Sequence[int] = ()) -> ContactRecord:
    return ContactRecord(**{c.name: row[c.name] for c in _CONTACT_COLUMNS}, groups=tuple(groups))


def search_text(values: Mapping[str, str | None]) -> str:
    """The folded text ``get=1&search=`` matches: phone, name, mail and cmt."""
    parts = (values.get(name) or "" for name in ("phone", "name", "mail", "cmt"))
    return "\n".join(parts).casefold()


# --- contacts -----------------------------------------------------------------------------------


async def find_contact(
    conn: AsyncConnection, account_id: int, *, phone: str | None = None, mail: str | None = None
) -> ContactRecord | None:
    """The account's contact with this number, else (no number given) the first with this address."""
    if phone is not None:
        condition = contacts.c.phone == phone
    elif mail is not None:
        condition = contacts.c.mail == mail
    else:
        return None
    query = (
        select(*_CONTACT_COLUMNS)
        .where(contacts.c.account_id == account_id, condition)
        .order_by(contacts.c.id)
        .limit(1)
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    groups = await group_ids_of(conn, [row["id"]])
    return _contact(row, groups.get(row["id"], []))


async def insert_contact(
    conn: AsyncConnection, account_id: int, values: Mapping[str, str | None], now: float
) -> int:
    result = await conn.execute(
        insert(contacts)
        .values(
            account_id=account_id,
            **values,
            search=search_text(values),
            created_at=now,
            updated_at=now,
        )
        .returning(contacts.c.id)
    )
    return int(result.scalar_one())


async def update_contact(
    conn: AsyncConnection, current: ContactRecord, changes: Mapping[str, str | None], now: float
) -> None:
    merged = {name: getattr(current, name) for name in CONTACT_FIELDS} | dict(changes)
    await conn.execute(
        update(contacts)
        .where(contacts.c.account_id == current.account_id, contacts.c.id == current.id)
        .values(**changes, search=search_text(merged), updated_at=now)
    )


async def delete_contacts(
    conn: AsyncConnection, account_id: int, contact_ids: Sequence[int]
) -> int:
    """Delete the account's contacts among ``contact_ids`` with their memberships; how many."""
    owned = await _owned_contacts(conn, account_id, contact_ids)
    if not owned:
        return 0
    await conn.execute(delete(contact_members).where(contact_members.c.contact_id.in_(owned)))
    await conn.execute(delete(contacts).where(contacts.c.id.in_(owned)))
    return len(owned)


async def list_contacts(
    conn: AsyncConnection,
    account_id: int,
    *,
    group_id: int | None = None,
    phone_prefix: str = "",
    search: str = "",
    after_id: int = 0,
    limit: int = 1000,
) -> list[ContactRecord]:
    """The account's contacts in ascending id after ``after_id``, filtered (http-api.md §6 get=1)."""
    # Contact ids are 32-bit: any larger ``after_id`` is past the last contact.
    query = select(*_CONTACT_COLUMNS).where(
        contacts.c.account_id == account_id, contacts.c.id > min(after_id, MAX_ID)
    )
    if group_id is not None:
        members = select(contact_members.c.contact_id).where(contact_members.c.group_id == group_id)
        query = query.where(contacts.c.id.in_(members))
    if phone_prefix:
        query = query.where(contacts.c.phone.startswith(phone_prefix, autoescape=True))
    if search:
        query = query.where(contacts.c.search.contains(search.casefold(), autoescape=True))
    rows = (await conn.execute(query.order_by(contacts.c.id).limit(limit))).mappings().all()
    groups = await group_ids_of(conn, [row["id"] for row in rows])
    return [_contact(row, groups.get(row["id"], [])) for row in rows]


async def find_contacts(
    conn: AsyncConnection, account_id: int, phones: Sequence[str], mails: Sequence[str] = ()
) -> list[ContactRecord]:
    """The account's contacts with any of these numbers or addresses (without their groups)."""
    conditions = []
    if phones:
        conditions.append(contacts.c.phone.in_(phones))
    if mails:
        conditions.append(contacts.c.mail.in_(mails))
    if not conditions:
        return []
    query = (
        select(*_CONTACT_COLUMNS)
        .where(contacts.c.account_id == account_id, or_(*conditions))
        .order_by(contacts.c.id)
    )
    return [_contact(row) for row in (await conn.execute(query)).mappings()]


async def _owned_contacts(
    conn: AsyncConnection, account_id: int, contact_ids: Iterable[int]
) -> list[int]:
    wanted = list(contact_ids)
    if not wanted:
        return []
    query = select(contacts.c.id).where(
        contacts.c.account_id == account_id, contacts.c.id.in_(wanted)
    )
    return [int(i) for i in (await conn.execute(query)).scalars()]


# --- membership ---------------------------------------------------------------------------------


async def group_ids_of(conn: AsyncConnection, contact_ids: Sequence[int]) -> dict[int, list[int]]:
    """The group ids of each contact, ascending."""
    if not contact_ids:
        return {}
    query = (
        select(contact_members.c.contact_id, contact_members.c.group_id)
        .where(contact_members.c.contact_id.in_(contact_ids))
        .order_by(contact_members.c.group_id)
    )
    found: dict[int, list[int]] = defaultdict(list)
    for contact_id, group_id in (await conn.execute(query)).all():
        found[int(contact_id)].append(int(group_id))
    return found


async def add_members(
    conn: AsyncConnection, group_ids: Sequence[int], contact_ids: Sequence[int]
) -> None:
    """Put every contact into every group (the caller has checked that both are the account's)."""
    if not group_ids or not contact_ids:
        return
    result = await conn.execute(
        select(contact_members.c.group_id, contact_members.c.contact_id).where(
            contact_members.c.group_id.in_(group_ids),
            contact_members.c.contact_id.in_(contact_ids),
        )
    )
    existing = {(int(group_id), int(contact_id)) for group_id, contact_id in result.all()}
    rows = [
        {"group_id": g, "contact_id": c}
        for g in group_ids
        for c in contact_ids
        if (g, c) not in existing
    ]
    if rows:
        await conn.execute(insert(contact_members), rows)


async def remove_members(
    conn: AsyncConnection, contact_ids: Sequence[int], group_ids: Sequence[int] | None
) -> None:
    """Take the contacts out of ``group_ids`` (None: out of every group)."""
    if not contact_ids:
        return
    statement = delete(contact_members).where(contact_members.c.contact_id.in_(contact_ids))
    if group_ids is not None:
        statement = statement.where(contact_members.c.group_id.in_(group_ids))
    await conn.execute(statement)


# --- groups -------------------------------------------------------------------------------------


async def insert_group(
    conn: AsyncConnection, account_id: int, name: str, num: int | None, kind: int, now: float
) -> int:
    result = await conn.execute(
        insert(contact_groups)
        .values(account_id=account_id, name=name, num=num, kind=kind, created_at=now)
        .returning(contact_groups.c.id)
    )
    return int(result.scalar_one())


async def update_group(
    conn: AsyncConnection, account_id: int, group_id: int, changes: Mapping[str, object]
) -> bool:
    result = await conn.execute(
        update(contact_groups)
        .where(contact_groups.c.account_id == account_id, contact_groups.c.id == group_id)
        .values(**changes)
    )
    return result.rowcount == 1


async def delete_group(conn: AsyncConnection, account_id: int, group_id: int) -> bool:
    """Delete the account's group; its contacts are kept (http-api.md §6)."""
    if not await find_groups(conn, account_id, [group_id]):
        return False
    await conn.execute(delete(contact_members).where(contact_members.c.group_id == group_id))
    await conn.execute(delete(contact_groups).where(contact_groups.c.id == group_id))
    return True


async def find_groups(
    conn: AsyncConnection, account_id: int, group_ids: Sequence[int]
) -> list[GroupRecord]:
    """The account's groups among ``group_ids`` (others' ids are left out)."""
    if not group_ids:
        return []
    query = select(*_GROUP_COLUMNS).where(
        contact_groups.c.account_id == account_id, contact_groups.c.id.in_(group_ids)
    )
    return [GroupRecord(**row) for row in (await conn.execute(query)).mappings()]


async def group_by_num(conn: AsyncConnection, account_id: int, num: int) -> GroupRecord | None:
    query = select(*_GROUP_COLUMNS).where(
        contact_groups.c.account_id == account_id, contact_groups.c.num == num
    )
    row = (await conn.execute(query)).mappings().first()
    return GroupRecord(**row) if row else None


async def list_groups(conn: AsyncConnection, account_id: int) -> list[GroupRecord]:
    """The account's groups in ascending id with their member counts."""
    counts = (
        select(contact_members.c.group_id, func.count().label("cnt"))
        .group_by(contact_members.c.group_id)
        .subquery()
    )
    query = (
        select(*_GROUP_COLUMNS, func.coalesce(counts.c.cnt, 0).label("cnt"))
        .select_from(contact_groups.outerjoin(counts, counts.c.group_id == contact_groups.c.id))
        .where(contact_groups.c.account_id == account_id)
        .order_by(contact_groups.c.id)
    )
    return [GroupRecord(**row) for row in (await conn.execute(query)).mappings()]


async def resolve_refs(
    conn: AsyncConnection, account_id: int, refs: Sequence[int]
) -> dict[int, int]:
    """``G<n>`` → group id: the account's group whose ``num`` is n, else whose id is n (§1.6)."""
    if not refs:
        return {}
    small = [ref for ref in refs if ref < 2**31]
    condition: ColumnElement[bool] = contact_groups.c.num.in_(refs)
    if small:
        condition = or_(condition, contact_groups.c.id.in_(small))
    query = select(contact_groups.c.id, contact_groups.c.num).where(
        contact_groups.c.account_id == account_id, condition
    )
    rows = (await conn.execute(query)).all()
    by_num = {int(num): int(gid) for gid, num in rows if num is not None}
    by_id = {int(gid) for gid, _ in rows}
    resolved: dict[int, int] = {}
    for ref in refs:
        if ref in by_num:
            resolved[ref] = by_num[ref]
        elif ref in by_id:
            resolved[ref] = ref
    return resolved


async def members(conn: AsyncConnection, group_ids: Sequence[int]) -> dict[int, GroupMembers]:
    """The numbers and addresses of each group's contacts, in contact order."""
    if not group_ids:
        return {}
    query = (
        select(contact_members.c.group_id, contacts.c.phone, contacts.c.mail)
        .select_from(
            contact_members.join(contacts, and_(contacts.c.id == contact_members.c.contact_id))
        )
        .where(contact_members.c.group_id.in_(group_ids))
        .order_by(contact_members.c.group_id, contacts.c.id)
    )
    phones: dict[int, list[str]] = defaultdict(list)
    mails: dict[int, list[str]] = defaultdict(list)
    for group_id, phone, mail in (await conn.execute(query)).all():
        if phone:
            phones[int(group_id)].append(phone)
        if mail:
            mails[int(group_id)].append(mail)
    return {
        gid: GroupMembers(tuple(phones.get(gid, ())), tuple(mails.get(gid, ())))
        for gid in group_ids
    }
