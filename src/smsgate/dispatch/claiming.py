"""Fair share: every claimed batch is divided among the accounts that have messages waiting.

Ordering the whole queue by priority and due time would let one account's campaign of a million
single-number requests (each priority 0, as integrations that send one number per request produce)
hold everybody else back for as long as it takes to drain. Instead each batch gives every waiting
account an equal quota, taken in that account's own priority-then-due order, and whatever quota is
left unused goes to the rest of the queue in global order, so the batch is always full when there is
work. With more waiting accounts than fit one batch's list, the list rotates from claim to claim.
"""

from __future__ import annotations

import math

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.repos import dispatch as repo
from smsgate.store.repos.dispatch import ClaimedMessage

ACCOUNTS_PER_CLAIM = 32


class FairClaim:
    def __init__(self, batch_size: int, *, accounts_per_claim: int = ACCOUNTS_PER_CLAIM) -> None:
        self._batch_size = batch_size
        self._accounts_per_claim = accounts_per_claim
        self._after = 0  # rotation: the next claim's account list starts after this id

    async def __call__(
        self, conn: AsyncConnection, now: float, lease_until: float
    ) -> list[ClaimedMessage]:
        accounts = await self._accounts(conn)
        if not accounts:
            return []
        quota = math.ceil(self._batch_size / len(accounts))
        claimed: list[ClaimedMessage] = []
        more_waiting = len(accounts) == self._accounts_per_claim
        for account_id in accounts:
            room = min(quota, self._batch_size - len(claimed))
            if room <= 0:
                more_waiting = True
                break
            taken = await repo.claim(conn, now, room, lease_until, account_id=account_id)
            claimed.extend(taken)
            more_waiting = more_waiting or len(taken) == room
        if more_waiting and len(claimed) < self._batch_size:
            claimed.extend(
                await repo.claim(conn, now, self._batch_size - len(claimed), lease_until)
            )
        return claimed

    async def _accounts(self, conn: AsyncConnection) -> list[int]:
        limit = self._accounts_per_claim
        accounts = await repo.waiting_accounts(conn, self._after, limit)
        if len(accounts) < limit and self._after:
            wrapped = await repo.waiting_accounts(conn, 0, limit - len(accounts))
            accounts += [a for a in wrapped if a <= self._after]
        # Rotate only when the list was cut short; otherwise every claim starts from the first.
        self._after = accounts[-1] if len(accounts) == limit else 0
        return accounts
