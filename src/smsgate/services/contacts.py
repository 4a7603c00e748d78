"""Contacts and contact groups of an account (http-api.md §6), and what sending needs of them.

Every method takes the account id and works only on that account's records: a contact or group of
another account is "not found" (request error 3, ``record error``), exactly like one that does not
exist. Writes go through the group-commit writer and answer after their commit; a check and the
write it guards (group exists, number not taken) run in the same transaction. Refused values are
request error 1.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.contacts import (
    MAX_GROUP_NAME,
    RECORD_ERROR,
    ContactError,
    GroupKind,
    MoveMode,
    contact_values,
)
from smsgate.domain.sending import AccountLists
from smsgate.errors import RequestError
from smsgate.services.blacklist import BlacklistService
from smsgate.services.numbering import NumberingService
from smsgate.store.db import Database
from smsgate.store.repos import contacts as repo
from smsgate.store.repos.contacts import ContactRecord, GroupRecord
from smsgate.store.writer import GroupCommitWriter

T = TypeVar("T")
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class _Refused:
    """An expected refusal returned by a write operation (kept out of exceptions so that a batch
    of the group-commit writer stays whole)."""

    detail: str


@dataclass(frozen=True, slots=True)
class ContactFilter:
    """``get=1``: group id, number prefix, search text, paging after an id (http-api.md §6)."""

    group_id: int | None = None
    phone_prefix: str = ""
    search: str = ""
    after_id: int = 0
    limit: int = MAX_PAGE


def record_error(detail: str) -> RequestError:
    return RequestError(RequestErrorCode.NO_MONEY, detail, description=RECORD_ERROR)


def parameters_error(detail: str) -> RequestError:
    return RequestError(RequestErrorCode.PARAMETERS, detail)


class ContactService:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        clock: Clock,
        numbering: NumberingService,
        blacklist: BlacklistService,
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._numbering = numbering
        self._blacklist = blacklist

    # --- contacts -------------------------------------------------------------------------------

    async def add(
        self, account_id: int, given: Mapping[str, str], group_ids: Sequence[int] = ()
    ) -> int:
        """``add=1``: a new contact, or the one with this number (address) updated and added to
        ``group_ids``; its id."""
        values = await self._values(given)
        phone, mail = values.get("phone"), values.get("mail")
        if not phone and not mail:
            raise parameters_error("phone or mail is required")
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> int | _Refused:
            if not await _all_groups(conn, account_id, group_ids):
                return _Refused("group not found")
            if phone:
                current = await repo.find_contact(conn, account_id, phone=phone)
            else:
                current = await repo.find_contact(conn, account_id, mail=mail)
            if current is None:
                contact_id = await repo.insert_contact(conn, account_id, values, now)
            else:
                await repo.update_contact(conn, current, values, now)
                contact_id = current.id
            await repo.add_members(conn, group_ids, [contact_id])
            return contact_id

        return await self._submit(op)

    async def change(
        self, account_id: int, given: Mapping[str, str], group_ids: Sequence[int] | None = None
    ) -> None:
        """``chg=1``: the contact named by ``phone`` (or ``mail``) gets the given fields,
        ``new_phone``/``new_mail``, and with ``group_ids`` exactly those groups."""
        key = await self._values({k: v for k, v in given.items() if k in ("phone", "mail")})
        phone, mail = key.get("phone"), key.get("mail")
        if not phone and not mail:
            raise parameters_error("phone or mail is required")
        fields = {k: v for k, v in given.items() if k not in ("phone", "mail")}
        values = await self._values(fields, phone_key="new_phone", mail_key="new_mail")
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None | _Refused:
            current = await repo.find_contact(conn, account_id, phone=phone, mail=mail)
            if current is None:
                return _Refused("contact not found")
            new_phone = values.get("phone")
            taken = (
                new_phone is not None
                and new_phone != current.phone
                and await repo.find_contact(conn, account_id, phone=new_phone) is not None
            )
            if taken:
                return _Refused("the new number belongs to another contact")
            merged = {"phone": current.phone, "mail": current.mail} | values
            if not merged["phone"] and not merged["mail"]:
                return _Refused("a contact keeps a number or an address")
            if group_ids is not None:
                if not await _all_groups(conn, account_id, group_ids):
                    return _Refused("group not found")
                await repo.remove_members(conn, [current.id], None)
                await repo.add_members(conn, group_ids, [current.id])
            await repo.update_contact(conn, current, values, now)
            return None

        await self._submit(op)

    async def move(
        self,
        account_id: int,
        phones: Sequence[str],
        mails: Sequence[str],
        group_ids: Sequence[int],
        mode: MoveMode,
    ) -> None:
        """``move_group``: into ``group_ids`` only (1), into them as well (2), out of them (3).

        Numbers and addresses the account has no contact for are skipped; none found is error 3.
        """

        async def op(conn: AsyncConnection) -> None | _Refused:
            found = await repo.find_contacts(conn, account_id, phones, mails)
            if not found:
                return _Refused("contact not found")
            if not await _all_groups(conn, account_id, group_ids):
                return _Refused("group not found")
            ids = [contact.id for contact in found]
            if mode is MoveMode.REMOVE:
                await repo.remove_members(conn, ids, group_ids)
                return None
            if mode is MoveMode.ONLY:
                await repo.remove_members(conn, ids, None)
            await repo.add_members(conn, group_ids, ids)
            return None

        await self._submit(op)

    async def delete(self, account_id: int, phones: Sequence[str], mails: Sequence[str]) -> int:
        """``del=1``: delete the contacts with these numbers or addresses (unknown ones are
        skipped); error 3 when there is none."""

        async def op(conn: AsyncConnection) -> int | _Refused:
            found = await repo.find_contacts(conn, account_id, phones, mails)
            deleted = await repo.delete_contacts(conn, account_id, [c.id for c in found])
            return deleted or _Refused("contact not found")

        return await self._submit(op)

    async def contacts(self, account_id: int, where: ContactFilter) -> list[ContactRecord]:
        """``get=1``: ascending id; a group of another account is not found (error 3)."""
        async with self._db.read() as conn:
            if where.group_id is not None and not await repo.find_groups(
                conn, account_id, [where.group_id]
            ):
                raise record_error("group not found")
            return await repo.list_contacts(
                conn,
                account_id,
                group_id=where.group_id,
                phone_prefix=where.phone_prefix,
                search=where.search,
                after_id=where.after_id,
                limit=where.limit,
            )

    # --- groups ---------------------------------------------------------------------------------

    async def add_group(self, account_id: int, name: str, num: int | None, kind: GroupKind) -> int:
        """``add_group=1``: the new group's id; a ``num`` the account already uses is error 3."""
        name = _group_name(name)
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> int | _Refused:
            if num is not None and await repo.group_by_num(conn, account_id, num) is not None:
                return _Refused(f"group number {num} is taken")
            return await repo.insert_group(conn, account_id, name, num, int(kind), now)

        return await self._submit(op)

    async def change_group(
        self, account_id: int, group_id: int, changes: Mapping[str, object]
    ) -> None:
        """``chg_group=1``: ``name`` and/or ``num`` (None clears it) of the account's group."""
        values = dict(changes)
        if "name" in values:
            values["name"] = _group_name(str(values["name"]))
        num = values.get("num")

        async def op(conn: AsyncConnection) -> None | _Refused:
            if isinstance(num, int):
                holder = await repo.group_by_num(conn, account_id, num)
                if holder is not None and holder.id != group_id:
                    return _Refused(f"group number {num} is taken")
            if not await repo.update_group(conn, account_id, group_id, values):
                return _Refused("group not found")
            return None

        await self._submit(op)

    async def delete_group(self, account_id: int, group_id: int) -> None:
        """``del_group=1``: the group goes, its contacts stay."""

        async def op(conn: AsyncConnection) -> None | _Refused:
            if not await repo.delete_group(conn, account_id, group_id):
                return _Refused("group not found")
            return None

        await self._submit(op)

    async def groups(self, account_id: int) -> list[GroupRecord]:
        async with self._db.read() as conn:
            return await repo.list_groups(conn, account_id)

    # --- sending --------------------------------------------------------------------------------

    async def send_lists(self, account_id: int, refs: Sequence[int]) -> AccountLists:
        """The account's groups named by ``refs`` (``G<n>``: by num, else by id) with their
        members, and its blacklist; references to anything else are left out (not found)."""
        groups = {}
        if refs:
            async with self._db.read() as conn:
                resolved = await repo.resolve_refs(conn, account_id, refs)
                members = await repo.members(conn, sorted(set(resolved.values())))
            groups = {ref: members[group_id] for ref, group_id in resolved.items()}
        return AccountLists(groups, await self._blacklist.kinds(account_id))

    # --- helpers --------------------------------------------------------------------------------

    async def _values(
        self, given: Mapping[str, str], *, phone_key: str = "phone", mail_key: str = "mail"
    ) -> dict[str, str | None]:
        plan = await self._numbering.plan()
        try:
            return contact_values(given, plan.is_valid, phone_key=phone_key, mail_key=mail_key)
        except ContactError as exc:
            raise parameters_error(str(exc)) from exc

    async def _submit(self, op: Callable[[AsyncConnection], Awaitable[T | _Refused]]) -> T:
        """Run ``op`` through the writer; its refusal, or a unique key taken by a concurrent
        write, becomes error 3."""
        try:
            result = await self._writer.submit(op)
        except IntegrityError:
            raise record_error("not saved: it conflicts with another record") from None
        if isinstance(result, _Refused):
            raise record_error(result.detail)
        return result


async def _all_groups(conn: AsyncConnection, account_id: int, group_ids: Sequence[int]) -> bool:
    return len(await repo.find_groups(conn, account_id, group_ids)) == len(set(group_ids))


def _group_name(name: str) -> str:
    text = name.strip()
    if not text or len(text) > MAX_GROUP_NAME:
        raise parameters_error(f"name must be 1..{MAX_GROUP_NAME} characters")
    return text
