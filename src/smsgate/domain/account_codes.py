"""Endpoint-specific meanings of the shared request error codes for account management
(codes.md §1.2: users.php, senders.php, templates.php, op_templates.php, receive_phones.php)."""

from __future__ import annotations

from enum import Enum

from smsgate.domain.codes import RequestErrorCode


class AccountRefusal(Enum):
    """A refusal with its request error code and endpoint-specific ``description``."""

    code: RequestErrorCode
    description: str

    def __new__(cls, name: str, code: int, description: str) -> AccountRefusal:
        member = object.__new__(cls)
        member._value_ = name
        member.code = next(c for c in RequestErrorCode if c == code)
        member.description = description
        return member

    # users.php (smsgate definitions)
    PAY_NO_MONEY = ("pay_no_money", 3, "not enough money")
    USER_NOT_FOUND = ("user_not_found", 6, "user not found")
    LOGIN_TAKEN = ("login_taken", 7, "login already exists")
    NOT_RESELLER = ("not_reseller", 8, "operation not permitted")
    # senders.php
    SENDER_ERROR = ("sender_error", 3, "sender error")
    INVALID_CODE = ("invalid_code", 5, "invalid code")
    # templates.php, op_templates.php
    TEMPLATE_NOT_FOUND = ("template_not_found", 3, "template not found")
    # receive_phones.php (smsgate definitions)
    NUMBER_NO_MONEY = ("number_no_money", 3, "not enough money")
    NUMBER_NOT_AVAILABLE = ("number_not_available", 5, "number not available")
