"""Turning an account-management refusal (domain.account_codes) into a request error."""

from __future__ import annotations

from smsgate.domain.account_codes import AccountRefusal
from smsgate.errors import RequestError


def refuse(refusal: AccountRefusal, detail: str = "") -> RequestError:
    return RequestError(refusal.code, detail, description=refusal.description)
