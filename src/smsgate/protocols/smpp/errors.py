"""SMPP errors; each carries the command_status it becomes on the wire.

::

    SmsgateError
    └── SmppError                 status (+ sequence_number, command_id when known)
        ├── SmppDecodeError       bytes from the peer that are not a valid PDU; answer, don't crash
        │   └── SmppFramingError  command_length out of bounds: the stream is out of sync, close it
        ├── SmppEncodeError       a PDU of ours that SMPP cannot carry (field too long, value out of range)
        ├── SmppResponseTimeout   no response within the window's response timeout
        └── SmppSessionClosed     the session closed before the request was answered

A session answers a ``SmppDecodeError`` with the request's ``*_resp`` carrying ``status`` (or
``generic_nack`` when the command is unknown or has no response) and keeps reading; after a
``SmppFramingError`` it sends ``generic_nack`` and closes (protocols.md §3.3).
"""

from __future__ import annotations

from smsgate.errors import SmsgateError
from smsgate.protocols.smpp.constants import CommandStatus, status_of


class SmppError(SmsgateError):
    """An SMPP failure that becomes ``status`` on the wire.

    ``sequence_number`` and ``command_id`` name the PDU it answers, when known (0 otherwise).
    Handlers raise it to answer a request with an error status (e.g. ``ESME_RTHROTTLED``).
    """

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        sequence_number: int = 0,
        command_id: int = 0,
    ) -> None:
        status = status_of(status)
        name = status.name if isinstance(status, CommandStatus) else f"0x{status:08X}"
        description = status.description if isinstance(status, CommandStatus) else "vendor error"
        super().__init__(f"{name}: {detail or description}")
        self.status = status
        self.detail = detail
        self.sequence_number = sequence_number
        self.command_id = command_id


class SmppDecodeError(SmppError):
    """Octets from the peer that do not form a valid PDU of the command they claim to be."""


class SmppFramingError(SmppDecodeError):
    """command_length outside the allowed bounds; the byte stream can no longer be framed."""


class SmppEncodeError(SmppError):
    """A PDU built locally that SMPP cannot carry; ``status`` names the offending field's error."""


class SmppResponseTimeout(SmppError):
    """The peer did not answer a request in time."""


class SmppSessionClosed(SmppError):
    """The session closed (or was never bound) before the request could be answered."""
