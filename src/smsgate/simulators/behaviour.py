"""What a simulated SMSC does, as data: one :class:`Behaviour` per simulator.

Counters run over the whole simulator (all sessions), numbered from 1 in arrival order of
submit_sm. "Every N" rules apply to the N-th, 2N-th … submit_sm; the one-shot rules (``unbind_after``,
``drop_after``, ``bad_length_after``) fire once, on submit_sm number N+1, which is left unanswered —
as is anything else in flight on that connection. Unanswered submits are never counted as accepted.

Receipt ids and submit_sm_resp ids are written in an :data:`ID_FORMATS` format, so a connector's
normalisation can be tested against an operator that answers in hex and reports in decimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from smsgate.protocols.smpp.constants import CommandStatus

ID_FORMATS = ("decimal", "hex", "hex_lower")
RECEIPT_KINDS = ("deliver_sm", "data_sm", "none")


def format_id(number: int, form: str) -> str:
    """``decimal`` 26 → "26"; ``hex`` → "0000001A" (upper case, zero-padded); ``hex_lower`` → "1a"."""
    if form == "hex":
        return f"{number:08X}"
    if form == "hex_lower":
        return f"{number:x}"
    return str(number)


@dataclass(frozen=True, slots=True)
class Behaviour:
    latency_s: float = 0.0  # before each submit_sm_resp
    latency_jitter_s: float = 0.0  # plus up to this much, uniformly
    throttle_every: int = 0
    throttle_status: CommandStatus = CommandStatus.ESME_RTHROTTLED
    error_every: int = 0
    error_status: CommandStatus = CommandStatus.ESME_RSUBMITFAIL
    nack_every: int = 0  # answered with generic_nack ESME_RSYSERR instead of submit_sm_resp
    silent: int = 0  # the first N submit_sm are never answered
    unbind_after: int = 0
    drop_after: int = 0
    bad_length_after: int = 0  # a PDU with command_length 4 is written instead of an answer
    id_format: str = "decimal"
    receipt_id_format: str = "decimal"
    receipts: str = "deliver_sm"
    receipt_delay_s: float = 0.0
    # The receipt is delivered (and answered) before the submit_sm_resp: the race of a fast SMSC.
    receipt_before_response: bool = False
    receipt_retry_s: float = 5.0  # after ESME_RX_T_APPN / throttling / no receiver bound
    delivery_ratio: float = 1.0  # the rest are UNDELIV err 1
    seed: int = 0
    # Incoming messages (MO): every accepted submit_sm is answered by an SMS with this text from its
    # destination to its source (empty: none), delivered like receipts.
    reply_text: str = ""
    # Accepted system_id → password; empty: any credentials bind.
    credentials: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.id_format not in ID_FORMATS or self.receipt_id_format not in ID_FORMATS:
            raise ValueError(f"id formats are {', '.join(ID_FORMATS)}")
        if self.receipts not in RECEIPT_KINDS:
            raise ValueError(f"receipts are {', '.join(RECEIPT_KINDS)}")
        if not 0.0 <= self.delivery_ratio <= 1.0:
            raise ValueError("delivery_ratio must be within 0..1")
        if min(self.latency_s, self.latency_jitter_s, self.receipt_delay_s) < 0:
            raise ValueError("times must not be negative")


PRESETS: dict[str, Behaviour] = {
    "happy": Behaviour(),
    "slow": Behaviour(latency_s=0.2, latency_jitter_s=0.3),
    "throttling": Behaviour(throttle_every=3),
    "queue-full": Behaviour(throttle_every=3, throttle_status=CommandStatus.ESME_RMSGQFUL),
    "error": Behaviour(error_every=2),
    "generic-nack": Behaviour(nack_every=2),
    "silent": Behaviour(silent=1_000_000_000),
    "unbind": Behaviour(unbind_after=5),
    "drop": Behaviour(drop_after=5),
    "bad-length": Behaviour(bad_length_after=5),
    "hex-ids": Behaviour(id_format="hex", receipt_id_format="decimal"),
    "data-sm-receipts": Behaviour(receipts="data_sm"),
    "delayed-receipts": Behaviour(receipt_delay_s=30.0),
    "no-receipts": Behaviour(receipts="none"),
    "replies": Behaviour(reply_text="Спасибо, получено! Thanks, got it."),
}
"""Named behaviours for ``smsgate simulator smpp --behaviour NAME``."""


def preset(name: str, **overrides: object) -> Behaviour:
    """The preset ``name`` with ``overrides`` applied; KeyError for an unknown name."""
    return replace(PRESETS[name], **overrides)  # type: ignore[arg-type]  # keys checked by replace
