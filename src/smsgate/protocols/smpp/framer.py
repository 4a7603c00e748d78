"""Split a byte stream into whole PDU frames (SMPP 3.4 §3.2: the first four octets are the length).

:class:`PduFramer` accepts chunks of any size and hands out one complete frame at a time, so a frame that
fails to decode does not lose the ones behind it. A ``command_length`` below 16 or above
``max_command_length`` (protocols.md §3.3: 65,536 by default) raises :class:`SmppFramingError`; the
stream is then out of sync and the framer refuses further use, because nothing after that point can be
trusted to start on a PDU boundary.
"""

from __future__ import annotations

import struct

from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppFramingError

DEFAULT_MAX_COMMAND_LENGTH = 65_536
MIN_COMMAND_LENGTH = 16
_U32 = struct.Struct(">I")


class PduFramer:
    """Incremental framer: ``feed(chunk)``, then ``next_frame()`` until it returns ``None``."""

    __slots__ = ("_buffer", "_broken", "_pos", "max_command_length")

    def __init__(self, max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH) -> None:
        if max_command_length < MIN_COMMAND_LENGTH:
            raise ValueError(f"max_command_length {max_command_length} is below 16")
        self.max_command_length = max_command_length
        self._buffer = bytearray()
        self._pos = 0
        self._broken = False

    @property
    def buffered(self) -> int:
        """Octets received but not yet handed out as a frame."""
        return len(self._buffer) - self._pos

    def feed(self, data: bytes) -> None:
        if self._broken:
            raise SmppFramingError(CommandStatus.ESME_RINVCMDLEN, "stream already out of sync")
        if self._pos and self._pos == len(self._buffer):
            self._buffer.clear()
            self._pos = 0
        self._buffer += data

    def next_frame(self) -> bytes | None:
        """The next whole PDU, or ``None`` until more octets arrive."""
        if self._broken:
            raise SmppFramingError(CommandStatus.ESME_RINVCMDLEN, "stream already out of sync")
        buffer, pos = self._buffer, self._pos
        available = len(buffer) - pos
        if available < 4:
            return None
        (length,) = _U32.unpack_from(buffer, pos)
        if not MIN_COMMAND_LENGTH <= length <= self.max_command_length:
            self._broken = True
            raise self._framing_error(length)
        if available < length:
            self._compact()
            return None
        frame = bytes(buffer[pos : pos + length])
        self._pos = pos + length
        return frame

    def _framing_error(self, length: int) -> SmppFramingError:
        # Name the PDU when its header arrived, so the generic_nack can carry its sequence number.
        available = len(self._buffer) - self._pos
        command_id = sequence_number = 0
        if available >= 8:
            (command_id,) = _U32.unpack_from(self._buffer, self._pos + 4)
        if available >= 16:
            (sequence_number,) = _U32.unpack_from(self._buffer, self._pos + 12)
        return SmppFramingError(
            CommandStatus.ESME_RINVCMDLEN,
            f"command_length {length} outside {MIN_COMMAND_LENGTH}..{self.max_command_length}",
            sequence_number=sequence_number,
            command_id=command_id,
        )

    def _compact(self) -> None:
        # Drop consumed octets once they dominate the buffer, keeping appends amortised O(1).
        if self._pos > 65_536 and self._pos * 2 > len(self._buffer):
            del self._buffer[: self._pos]
            self._pos = 0
