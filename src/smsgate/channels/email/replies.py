"""What an SMTP relay's refusal means for the message (codes.md §3 and §3.1, "e-mail: 5xx …").

- 4xx anywhere: a temporary refusal; the dispatcher retries with backoff.
- 5xx to MAIL FROM: the relay will not send from this address → 20 / 254 (sender rejected upstream).
- 5xx to RCPT TO or DATA: 20 with the err of the failure. The RFC 3463 enhanced status code decides
  when the reply has one; the basic code otherwise:

  ====================================================  ==============================  ===
  enhanced code                                         basic code                      err
  ====================================================  ==============================  ===
  5.1.x (addressing): bad mailbox, syntax, moved         550, 551, 553                   1
  5.2.2 (mailbox full)                                  552                             2
  5.1.2, 5.1.10, 5.4.4 (no such domain / no MX, null    521, 556                        3
  MX, unable to route)
  5.2.1 (mailbox disabled), 5.7.x (policy), others      554 and any other 5xx           4
  ====================================================  ==============================  ===

So "550 5.7.1 relaying denied" is err 4 (refused by policy), not err 1: the mailbox may well exist.
Any other code (a 2xx or 3xx where a refusal was expected) is treated as temporary.
"""

from __future__ import annotations

import enum
import re

from smsgate.channels.base import PermanentFailure, SubmitOutcome, TransientFailure
from smsgate.domain.codes import ErrCode, MessageStatus

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_DOMAIN_ENHANCED = frozenset({(1, 2), (1, 10), (4, 4)})
_BY_BASIC_CODE = {
    550: ErrCode.NO_SUBSCRIBER,
    551: ErrCode.NO_SUBSCRIBER,
    553: ErrCode.NO_SUBSCRIBER,
    552: ErrCode.MAILBOX_FULL,
    521: ErrCode.MAIL_SERVER_NOT_FOUND,
    556: ErrCode.MAIL_SERVER_NOT_FOUND,
}


class Stage(enum.Enum):
    """The step of the SMTP transaction the relay refused."""

    SENDER = "MAIL FROM"
    RECIPIENT = "RCPT TO"
    DATA = "DATA"


def refusal(code: int, text: str, stage: Stage) -> SubmitOutcome:
    """The outcome of a relay reply ``code`` ``text`` refusing ``stage`` (module docstring)."""
    if not 500 <= code <= 599:
        return TransientFailure(f"{stage.value}: {code} {_clean(text)}")
    if stage is Stage.SENDER:
        return PermanentFailure(MessageStatus.CANNOT_DELIVER, ErrCode.UNREGISTERED_SENDER)
    return PermanentFailure(MessageStatus.CANNOT_DELIVER, mailbox_err(code, text))


def mailbox_err(code: int, text: str) -> ErrCode:
    """The err of a permanent refusal of a recipient or of the mail (module docstring table)."""
    match = _ENHANCED.match(text)
    if match is not None and match.group(1) == "5":
        subject, detail = int(match.group(2)), int(match.group(3))
        if (subject, detail) in _DOMAIN_ENHANCED:
            return ErrCode.MAIL_SERVER_NOT_FOUND
        if subject == 1:
            return ErrCode.NO_SUBSCRIBER
        if (subject, detail) == (2, 2):
            return ErrCode.MAILBOX_FULL
        return ErrCode.MAILBOX_BLOCKED
    return _BY_BASIC_CODE.get(code, ErrCode.MAILBOX_BLOCKED)


def _clean(text: str) -> str:
    """A relay's reply text made safe for a log line (no control characters, bounded)."""
    return "".join(c if c.isprintable() else " " for c in text)[:200]
