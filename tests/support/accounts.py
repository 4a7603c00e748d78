"""Helpers for the account-management endpoint tests (users, senders, templates, op_templates)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from smsgate.services.container import Services
from smsgate.store.schema import accounts

PASSWORD = "password-1"
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
MTS, MEGAFON, BEELINE = "79161234567", "79261234567", "79031234567"


async def call(
    client: httpx.AsyncClient,
    endpoint: str,
    login: str,
    *,
    method: str = "GET",
    login_password: str = PASSWORD,
    **params: str,
) -> httpx.Response:
    """One request to ``/sys/<endpoint>.php`` as ``login``; always HTTP 200 with a body."""
    query = {"login": login, "psw": login_password, **params}
    if method == "POST":
        response = await client.post(f"/sys/{endpoint}.php", data=query)
    else:
        response = await client.get(f"/sys/{endpoint}.php", params=query)
    assert response.status_code == 200
    assert response.content
    return response


async def call_json(client: httpx.AsyncClient, endpoint: str, login: str, **params: str) -> Any:
    response = await call(client, endpoint, login, fmt="3", **params)
    return json.loads(response.text)


def error_code(body: Any) -> int | None:
    return body.get("error_code") if isinstance(body, dict) else None


async def balance_of(services: Services, login: str) -> Decimal:
    async with services.db.read() as conn:
        query = select(accounts.c.balance).where(accounts.c.login == login)
        return Decimal((await conn.execute(query)).scalar_one())
