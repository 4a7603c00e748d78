"""Message templates, operator templates and the operators that require them (http-api.md §9).

Every query by id also names the owning account: an id of another account's template is "not found".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import op_templates, template_operators, templates


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    id: int
    account_id: int
    name: str
    msg: str
    format: str
    sender: str | None
    autosign: bool
    created_at: float


@dataclass(frozen=True, slots=True)
class OpTemplateRecord:
    id: int
    account_id: int
    sender: str
    operator: str
    kind: str
    msg: str
    status: int
    created_at: float


async def add_template(conn: AsyncConnection, **values: Any) -> int:
    if values.get("autosign"):
        await _clear_autosign(conn, values["account_id"])
    result = await conn.execute(insert(templates).values(**values).returning(templates.c.id))
    return int(result.scalar_one())


async def change_template(
    conn: AsyncConnection, account_id: int, template_id: int, **values: Any
) -> bool:
    if values.get("autosign"):
        await _clear_autosign(conn, account_id)
    result = await conn.execute(
        update(templates)
        .where(templates.c.id == template_id, templates.c.account_id == account_id)
        .values(**values)
    )
    return result.rowcount == 1


async def _clear_autosign(conn: AsyncConnection, account_id: int) -> None:
    """At most one auto-signature per account: setting one clears the others."""
    await conn.execute(
        update(templates)
        .where(templates.c.account_id == account_id, templates.c.autosign.is_(True))
        .values(autosign=False)
    )


async def delete_template(conn: AsyncConnection, account_id: int, template_id: int) -> bool:
    result = await conn.execute(
        delete(templates).where(templates.c.id == template_id, templates.c.account_id == account_id)
    )
    return result.rowcount == 1


async def get_template(
    conn: AsyncConnection, account_id: int, template_id: int
) -> TemplateRecord | None:
    row = (
        (
            await conn.execute(
                select(templates).where(
                    templates.c.id == template_id, templates.c.account_id == account_id
                )
            )
        )
        .mappings()
        .first()
    )
    return TemplateRecord(**row) if row else None


async def list_templates(conn: AsyncConnection, account_id: int) -> Sequence[TemplateRecord]:
    rows = await conn.execute(
        select(templates).where(templates.c.account_id == account_id).order_by(templates.c.id)
    )
    return [TemplateRecord(**row) for row in rows.mappings()]


async def signature(conn: AsyncConnection, account_id: int) -> str:
    """The text of the account's auto-signature template, or ""."""
    value = (
        await conn.execute(
            select(templates.c.msg)
            .where(templates.c.account_id == account_id, templates.c.autosign.is_(True))
            .limit(1)
        )
    ).scalar_one_or_none()
    return str(value) if value is not None else ""


async def add_op_templates(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    ids = []
    for row in rows:  # one registration request per flag, ids in flag order
        result = await conn.execute(insert(op_templates).values(**row).returning(op_templates.c.id))
        ids.append(int(result.scalar_one()))
    return ids


async def list_op_templates(
    conn: AsyncConnection,
    account_id: int | None,
    *,
    sender: str | None = None,
    status: int | None = None,
) -> Sequence[OpTemplateRecord]:
    """Operator templates of one account (or of all, for the platform admin)."""
    query = select(op_templates).order_by(op_templates.c.id)
    if account_id is not None:
        query = query.where(op_templates.c.account_id == account_id)
    if sender is not None:
        query = query.where(op_templates.c.sender == sender)
    if status is not None:
        query = query.where(op_templates.c.status == status)
    return [OpTemplateRecord(**row) for row in (await conn.execute(query)).mappings()]


async def set_op_template_status(conn: AsyncConnection, template_id: int, status: int) -> bool:
    result = await conn.execute(
        update(op_templates).where(op_templates.c.id == template_id).values(status=status)
    )
    return result.rowcount == 1


async def approved_texts(
    conn: AsyncConnection, account_ids: Sequence[int], sender: str, approved: int
) -> dict[str, list[str]]:
    """Approved template texts of ``sender`` by operator code."""
    rows = await conn.execute(
        select(op_templates.c.operator, op_templates.c.msg).where(
            op_templates.c.account_id.in_(account_ids),
            op_templates.c.sender == sender,
            op_templates.c.status == approved,
        )
    )
    texts: dict[str, list[str]] = {}
    for operator, msg in rows:
        texts.setdefault(operator, []).append(msg)
    return texts


async def required_operators(conn: AsyncConnection) -> dict[str, str]:
    """Numbering-plan operator name → op_templates operator code, for operators that require one."""
    rows = await conn.execute(select(template_operators.c.operator, template_operators.c.code))
    return {operator: code for operator, code in rows}


async def require(conn: AsyncConnection, operator: str, code: str) -> None:
    changed = await conn.execute(
        update(template_operators)
        .where(template_operators.c.operator == operator)
        .values(code=code)
    )
    if changed.rowcount == 0:
        await conn.execute(insert(template_operators).values(operator=operator, code=code))


async def unrequire(conn: AsyncConnection, operator: str) -> bool:
    result = await conn.execute(
        delete(template_operators).where(template_operators.c.operator == operator)
    )
    return result.rowcount == 1
