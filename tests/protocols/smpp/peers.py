"""Independent SMPP implementations wrapped for interop tests: parse octets, write them back.

``regenerate(data)`` parses our octets with the other library and has it encode what it understood.
"""

from __future__ import annotations

import io
import warnings
from typing import Any, Protocol

import smpplib.smpp
from smpp.pdu import pdu_encoding


class Implementation(Protocol):
    name: str

    def regenerate(self, data: bytes) -> bytes: ...

    def fields(self, data: bytes) -> dict[str, Any]: ...


class _SequenceSource:
    def next_sequence(self) -> int:
        return 1


class Smpplib:
    name = "smpplib"

    def _parse(self, data: bytes) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return smpplib.smpp.parse_pdu(
                data, client=_SequenceSource(), allow_unknown_opt_params=True
            )

    def regenerate(self, data: bytes) -> bytes:
        parsed = self._parse(data)
        # smpplib parses C-octet strings to bytes but generates them only from str.
        for name, param in parsed.params.items():
            value = getattr(parsed, name, None)
            if param.type is str and isinstance(value, bytes):
                setattr(parsed, name, value.decode("latin-1"))
        generated: bytes = parsed.generate()
        return generated

    def fields(self, data: bytes) -> dict[str, Any]:
        return dict(vars(self._parse(data)))


class SmppPdu3:
    name = "smpp.pdu3"

    def __init__(self) -> None:
        self.encoder = pdu_encoding.PDUEncoder()

    def regenerate(self, data: bytes) -> bytes:
        generated: bytes = self.encoder.encode(self.encoder.decode(io.BytesIO(data)))
        return generated

    def fields(self, data: bytes) -> dict[str, Any]:
        pdu = self.encoder.decode(io.BytesIO(data))
        return {"sequence": pdu.seqNum, "status": pdu.status, **pdu.params}


IMPLEMENTATIONS: list[Implementation] = [Smpplib(), SmppPdu3()]
