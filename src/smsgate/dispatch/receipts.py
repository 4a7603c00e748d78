"""From receipts to statuses (codes.md §3.1): pure rules."""

from __future__ import annotations

from smsgate.channels.base import DeliveryState
from smsgate.domain.codes import ErrCode, MessageStatus


def part_failure(state: DeliveryState, err: int) -> int | None:
    """The err a failed part gives its message, or None when the part was delivered.

    EXPIRED keeps a MAP code 1–199 (else 0); UNDELIV keeps 1–199 (else 255); REJECTD → 255.
    """
    if state is DeliveryState.DELIVERED:
        return None
    if state is DeliveryState.EXPIRED:
        return err if 1 <= err <= 199 else 0
    if state is DeliveryState.UNDELIVERABLE:
        return err if 1 <= err <= 199 else ErrCode.REJECTED_BY_OPERATOR
    return ErrCode.REJECTED_BY_OPERATOR


def final_status(
    failed_err: int | None, last_state: DeliveryState, delivered_err: int
) -> tuple[MessageStatus, int]:
    """The message's final status once every part has a receipt; any failed part fails it."""
    if failed_err is None:
        return MessageStatus.DELIVERED, delivered_err
    if last_state is DeliveryState.EXPIRED:
        return MessageStatus.EXPIRED, failed_err
    return MessageStatus.CANNOT_DELIVER, failed_err
