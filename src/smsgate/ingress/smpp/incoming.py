"""Incoming messages (MO) to an account's bound receivers as deliver_sm (protocols.md §3.8).

With ``fl[1]`` (a main account: always, until the cabinet has the switch), every incoming message
of the account goes to its bound receiver and transceiver sessions in turn, as the PDUs of
``protocols/smpp/mo.py``. They wait in the store while none is bound (``smpp.dlr_retention``), and
the account's MO cursor moves past a message only once every part was answered; an answer asking
to retry (§3.7: ESME_RX_T_APPN, throttling, queue full, no answer) stops delivery for a while, and it
goes on with the part that was not taken. A part answered with any other error is dropped and
logged. Only the node holding the account's receipt cursor lease delivers (``repos/smpp_mo.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from smsgate.domain.subclients import Policy
from smsgate.protocols.smpp.mo import mo_pdus
from smsgate.protocols.smpp.pdu import DeliverSm
from smsgate.services.incoming import IncomingOverSmpp
from smsgate.store.repos.accounts import AccountRecord

log = logging.getLogger(__name__)

FLAG_INCOMING_OVER_SMPP = "fl[1]"
MO_BATCH = 100

# Sends one PDU to the account's next receiver: None when it is to be tried again later, else
# the command_status it was answered with.
SendPdu = Callable[[int, DeliverSm], Awaitable[int | None]]
PolicyOf = Callable[[int], Awaitable[Policy]]


def takes_mo(account: AccountRecord, policy: Policy) -> bool:
    return account.parent_id is None or FLAG_INCOMING_OVER_SMPP in policy.flags


class IncomingPump:
    def __init__(
        self,
        store: IncomingOverSmpp,
        policy_of: PolicyOf,
        send: SendPdu,
        *,
        node: str,
        retention_s: float,
    ) -> None:
        self._store = store
        self._policy_of = policy_of
        self._send = send
        self._node = node
        self._retention_s = retention_s
        # account → (incoming id, parts already taken) of a message stopped halfway
        self._partial: dict[int, tuple[int, int]] = {}

    async def deliver(self, account: AccountRecord) -> bool:
        """Send what waits for ``account`` (this node holds its lease); False when a receiver
        asked to retry (the caller pauses the account)."""
        _last, waiting = await self._store.pending(account.id, self._retention_s, MO_BATCH)
        if not waiting:
            return True
        if not takes_mo(account, await self._policy_of(account.id)):
            await self._store.advance(account.id, self._node, waiting[-1].id)
            return True
        for message in waiting:
            pdus = mo_pdus(message.phone, message.to_phone, message.text, message.id)
            done_id, done_parts = self._partial.pop(account.id, (message.id, 0))
            start = done_parts if done_id == message.id else 0
            for index in range(start, len(pdus)):
                status = await self._send(account.id, pdus[index])
                if status is None:
                    self._partial[account.id] = (message.id, index)
                    return False
                if status != 0:
                    log.warning(
                        "incoming message %d part %d dropped by the ESME: status 0x%08X",
                        message.id,
                        index + 1,
                        status,
                    )
            if not await self._store.advance(account.id, self._node, message.id):
                return True  # the lease went to another node: it goes on from the cursor
        return True
