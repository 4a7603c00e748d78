"""Templates (templates.php) and operator templates (op_templates.php): http-api.md §9.

Templates belong to one account; a lookup by id names the account too, so another account's id is
"not found" (error 3). Operator templates are registration requests that the platform admin approves
or rejects (``smsgate optemplate approve``). Which operators require a template is a platform
setting kept in ``template_operators`` (``smsgate optemplate require OPERATOR CODE``): it names an
operator as the numbering plan does and the op_templates operator code whose templates apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.account_codes import AccountRefusal
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.sending import PreparedSend
from smsgate.domain.templates import (
    FORMAT_FLAGS,
    OPERATOR_CODES,
    OpTemplateStatus,
    check_operator_templates,
)
from smsgate.errors import RequestError
from smsgate.services.caching import KeyedRefreshed, Refreshed
from smsgate.services.refusals import refuse
from smsgate.store.db import Database
from smsgate.store.repos import templates as repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.templates import OpTemplateRecord, TemplateRecord
from smsgate.store.writer import GroupCommitWriter

CACHE_S = 5.0
_MAX_ENTRIES = 100_000
MAX_NAME = 100
MAX_MSG = 1000


def template_not_found() -> RequestError:
    return refuse(AccountRefusal.TEMPLATE_NOT_FOUND)


@dataclass(frozen=True, slots=True)
class TemplateFields:
    """templates.php fields; ``None`` leaves a field as it is (``chg``)."""

    name: str | None = None
    msg: str | None = None
    format: str | None = None
    sender: str | None = None
    autosign: bool | None = None


class TemplateService:
    def __init__(
        self, db: Database, writer: GroupCommitWriter, clock: Clock, *, cache_s: float = CACHE_S
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._required = Refreshed(self._read_required, clock, cache_s)
        self._signatures: KeyedRefreshed[int, str] = KeyedRefreshed(
            clock, cache_s, max_entries=_MAX_ENTRIES
        )

    # --- templates.php ---------------------------------------------------------------------

    async def add(self, account: AccountRecord, fields: TemplateFields) -> int:
        values = _checked(fields)
        if not values.get("name") or not values.get("msg"):
            raise RequestError(RequestErrorCode.PARAMETERS, "name and msg are required")
        values.update(account_id=account.id, created_at=self._clock.now())

        async def op(conn: AsyncConnection) -> int:
            return await repo.add_template(conn, **values)

        template_id = await self._writer.submit(op)
        self._signatures.forget(account.id)
        return template_id

    async def change(
        self, account: AccountRecord, template_id: int, fields: TemplateFields
    ) -> None:
        values = _checked(fields)
        if values.get("name") == "" or values.get("msg") == "":
            raise RequestError(RequestErrorCode.PARAMETERS, "name and msg cannot be empty")

        async def op(conn: AsyncConnection) -> bool:
            if not values:
                return await repo.get_template(conn, account.id, template_id) is not None
            return await repo.change_template(conn, account.id, template_id, **values)

        done = await self._writer.submit(op)
        self._signatures.forget(account.id)
        if not done:
            raise template_not_found()

    async def delete(self, account: AccountRecord, template_id: int) -> None:
        async def op(conn: AsyncConnection) -> bool:
            return await repo.delete_template(conn, account.id, template_id)

        done = await self._writer.submit(op)
        self._signatures.forget(account.id)
        if not done:
            raise template_not_found()

    async def get(self, account: AccountRecord, template_id: int) -> TemplateRecord | None:
        async with self._db.read() as conn:
            return await repo.get_template(conn, account.id, template_id)

    async def list(self, account: AccountRecord) -> Sequence[TemplateRecord]:
        async with self._db.read() as conn:
            return await repo.list_templates(conn, account.id)

    async def signature(self, account: AccountRecord) -> str:
        """The account's auto-signature text (``fl[1]``), or ""; read at most every ``cache_s``
        per account (every send asks)."""

        async def read() -> str:
            async with self._db.read() as conn:
                return await repo.signature(conn, account.id)

        return await self._signatures.get(account.id, read)

    # --- op_templates.php ------------------------------------------------------------------

    async def register(
        self, account: AccountRecord, sender: str, msg: str, flags: Sequence[tuple[str, str]]
    ) -> Sequence[int]:
        """One registration request per (operator code, kind); their ids."""
        now = self._clock.now()
        rows = [
            {
                "account_id": account.id,
                "sender": sender,
                "operator": operator,
                "kind": kind,
                "msg": msg,
                "status": int(OpTemplateStatus.SUBMITTED),
                "created_at": now,
            }
            for operator, kind in flags
        ]

        async def op(conn: AsyncConnection) -> Sequence[int]:
            return await repo.add_op_templates(conn, rows)

        return await self._writer.submit(op)

    async def op_templates(
        self,
        account: AccountRecord | None,
        *,
        sender: str | None = None,
        status: OpTemplateStatus | None = None,
    ) -> Sequence[OpTemplateRecord]:
        """Operator templates of ``account``, or of every account (``None``: the platform admin)."""
        async with self._db.read() as conn:
            return await repo.list_op_templates(
                conn,
                account.id if account is not None else None,
                sender=sender,
                status=int(status) if status is not None else None,
            )

    async def review(self, template_id: int, status: OpTemplateStatus) -> bool:
        """The platform admin's decision on a registration request."""

        async def op(conn: AsyncConnection) -> bool:
            return await repo.set_op_template_status(conn, template_id, int(status))

        return await self._writer.submit(op)

    async def require(self, operator: str, code: str) -> None:
        """Make ``operator`` (its numbering-plan name) take only template messages of ``code``."""
        if code not in OPERATOR_CODES:
            raise ValueError(f"unknown operator code {code!r}: one of {', '.join(OPERATOR_CODES)}")

        async def op(conn: AsyncConnection) -> None:
            await repo.require(conn, operator, code)

        await self._writer.submit(op)
        self._required.clear()

    async def unrequire(self, operator: str) -> bool:
        async def op(conn: AsyncConnection) -> bool:
            return await repo.unrequire(conn, operator)

        done = await self._writer.submit(op)
        self._required.clear()
        return done

    async def required_operators(self) -> dict[str, str]:
        return await self._required.get()

    async def check(self, owners: Sequence[int], prepared: PreparedSend) -> PreparedSend:
        """Refuse (20/238) recipients on template-requiring operators whose text matches no
        approved template of the sender registered by one of ``owners`` (the account, and its main
        account when it sends from the main account's names)."""
        required = await self.required_operators()
        if not required or not any(r.operator in required for r in prepared.accepted):
            return prepared
        approved: dict[str, list[str]] = {}
        if prepared.sender:
            async with self._db.read() as conn:
                approved = await repo.approved_texts(
                    conn, owners, prepared.sender, int(OpTemplateStatus.APPROVED)
                )
        return check_operator_templates(prepared, required, approved)

    async def _read_required(self) -> dict[str, str]:
        async with self._db.read() as conn:
            return await repo.required_operators(conn)


def _checked(fields: TemplateFields) -> dict[str, object]:
    """Column values of the given fields; error 1 for values out of range."""
    values: dict[str, object] = {}
    if fields.name is not None:
        if len(fields.name.strip()) > MAX_NAME:
            raise RequestError(RequestErrorCode.PARAMETERS, f"name longer than {MAX_NAME}")
        values["name"] = fields.name.strip()
    if fields.msg is not None:
        if len(fields.msg) > MAX_MSG:
            raise RequestError(RequestErrorCode.PARAMETERS, f"msg longer than {MAX_MSG}")
        values["msg"] = fields.msg
    if fields.format is not None:
        name = fields.format.strip().lower()
        if name not in FORMAT_FLAGS:
            raise RequestError(RequestErrorCode.PARAMETERS, f"unknown format {fields.format!r}")
        values["format"] = name
    if fields.sender is not None:
        values["sender"] = fields.sender.strip() or None
    if fields.autosign is not None:
        values["autosign"] = fields.autosign
    return values
