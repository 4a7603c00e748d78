"""Every SMSC code as an enum, defined once (spec/codes.md).

A test checks these tables against ``spec/codes.md`` so the two cannot drift apart.
"""

from __future__ import annotations

from enum import IntEnum


class RequestErrorCode(IntEnum):
    """Request-level error codes of the compatible API (codes.md §1.1)."""

    description: str

    def __new__(cls, value: int, description: str) -> RequestErrorCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    PARAMETERS = (1, "parameters error")
    AUTHORISE = (2, "authorise error")
    NO_MONEY = (3, "not enough money")
    IP_BLOCKED = (4, "IP is temporarily blocked")
    INVALID_DATE = (5, "invalid date format")
    FORBIDDEN = (6, "message is forbidden")
    INVALID_PHONE = (7, "invalid phone number")
    CANNOT_DELIVER = (8, "can't to deliver")
    TOO_MANY = (9, "too many requests")


# Endpoint-specific wordings of the shared codes (codes.md §1.1 and §1.2).
DUPLICATE_REQUEST = "duplicate request, wait a minute"
TOO_MANY_CONCURRENT = "too many concurrent requests"


class MessageStatus(IntEnum):
    """Message status codes (codes.md §2)."""

    status_name: str
    is_final: bool

    def __new__(cls, value: int, status_name: str, is_final: bool) -> MessageStatus:
        member = int.__new__(cls, value)
        member._value_ = value
        member.status_name = status_name
        member.is_final = is_final
        return member

    NOT_FOUND = (-3, "Сообщение не найдено", False)
    STOPPED = (-2, "Остановлено", True)
    WAITING = (-1, "Ожидает отправки", False)
    TRANSFERRED = (0, "Передано оператору", False)
    DELIVERED = (1, "Доставлено", True)
    READ = (2, "Прочитано", True)
    EXPIRED = (3, "Просрочено", True)
    CLICKED = (4, "Нажата ссылка", True)
    CANNOT_DELIVER = (20, "Невозможно доставить", True)
    WRONG_NUMBER = (22, "Неверный номер", True)
    PROHIBITED = (23, "Запрещено", True)
    NO_FUNDS = (24, "Недостаточно средств", True)
    UNAVAILABLE = (25, "Недоступный номер", True)


class ErrCode(IntEnum):
    """Named delivery error codes (codes.md §3). Codes 5, 7–10, 14–20, 22–199 pass through as ints."""

    NONE = 0
    NO_SUBSCRIBER = 1
    MAILBOX_FULL = 2
    MAIL_SERVER_NOT_FOUND = 3
    MAILBOX_BLOCKED = 4
    SUBSCRIBER_OFFLINE = 6
    NO_SMS_SERVICE = 11
    HANDSET_ERROR = 12
    SUBSCRIBER_BLOCKED = 13
    SERVICE_NOT_SUPPORTED = 21
    VIRTUAL = 200
    SIM_REPLACED = 219
    OPERATOR_QUEUE_OVERFLOW = 220
    NO_ANSWER = 237
    NO_TEMPLATE = 238
    FORBIDDEN_IP = 239
    BUSY = 240
    CONVERSION_ERROR = 241
    ANSWERING_MACHINE = 242
    NO_CONTRACT = 243
    MAILINGS_PROHIBITED = 244
    STATUS_NOT_RECEIVED = 245
    TIME_RESTRICTION = 246
    LIMIT_EXCEEDED = 247
    NO_ROUTE = 248
    INVALID_NUMBER = 249
    NUMBER_FORBIDDEN_BY_SETTINGS = 250
    PER_NUMBER_LIMIT = 251
    NUMBER_FORBIDDEN = 252
    SPAM_FILTER = 253
    UNREGISTERED_SENDER = 254
    REJECTED_BY_OPERATOR = 255


class MessageType(IntEnum):
    """Message type codes (codes.md §4.1)."""

    SMS = 0
    FLASH = 1
    BIN = 2
    PUSH = 3
    HLR = 4
    PING = 5
    MMS = 6
    CALL = 7
    MAIL = 8
    VIBER = 10
    SOC = 12
    TG = 13


class Currency(IntEnum):
    """users.php ``curr`` values and their display codes (codes.md §9)."""

    code: str

    def __new__(cls, value: int, code: str) -> Currency:
        member = int.__new__(cls, value)
        member._value_ = value
        member.code = code
        return member

    RUR = (1, "RUR")
    USD = (2, "USD")
    EUR = (3, "EUR")
    UAH = (4, "UAH")
    KZT = (5, "KZT")


# --- export tasks (issue 6) ---------------------------------------------------------------------


class ExportStatus(IntEnum):
    """States of a deferred export task, downloads.php (codes.md §5.1)."""

    russian: str

    def __new__(cls, value: int, russian: str) -> ExportStatus:
        member = int.__new__(cls, value)
        member._value_ = value
        member.russian = russian
        return member

    WAITING = (0, "Ожидает")
    RUNNING = (1, "Выполняется")
    DONE = (2, "Готово")
    CANCELLED = (3, "Отменено")
    FAILED = (4, "Ошибка")

    @classmethod
    def of(cls, code: int) -> ExportStatus:
        """The member for a stored code; ValueError for any other."""
        for status in cls:
            if status == code:
                return status
        raise ValueError(f"not an export task status: {code}")
