"""The users.php policy of each account, read from the store and kept for a moment.

Every send reads its account's policy, so it is cached for ``cache_s`` per account like the account
rows themselves (services.directory); changes made on this node clear the cache at once.
"""

from __future__ import annotations

import json

from smsgate.clock import Clock
from smsgate.domain.subclients import Policy, PolicyError, ShareType, parse_fmts, parse_tmlim
from smsgate.services.caching import KeyedRefreshed
from smsgate.store.db import Database
from smsgate.store.repos import subclients as repo
from smsgate.store.repos.subclients import PolicyRecord

CACHE_S = 1.0
_MAX_ENTRIES = 100_000
NO_POLICY = Policy()


def policy_of(record: PolicyRecord | None) -> Policy:
    """The domain policy of a stored row (a row that no longer parses counts as no setting)."""
    if record is None:
        return NO_POLICY
    try:
        tmlim = parse_tmlim(record.tmlim or "")
        fmts = parse_fmts(record.fmts)
    except PolicyError:
        tmlim, fmts = None, parse_fmts("")
    flags = json.loads(record.flags or "[]")
    return Policy(
        share_type=ShareType(record.share_type),
        dlim=record.dlim,
        plim=record.plim,
        tlim=record.tlim,
        ilim=record.ilim,
        tmlim=tmlim,
        fmts=fmts,
        flags=frozenset(str(f) for f in flags) if isinstance(flags, list) else frozenset(),
    )


class PolicyService:
    def __init__(self, db: Database, clock: Clock, *, cache_s: float = CACHE_S) -> None:
        self._db = db
        self._entries: KeyedRefreshed[int, Policy] = KeyedRefreshed(
            clock, cache_s, max_entries=_MAX_ENTRIES
        )

    async def get(self, account_id: int) -> Policy:
        async def read() -> Policy:
            async with self._db.read() as conn:
                return policy_of(await repo.get_policy(conn, account_id))

        return await self._entries.get(account_id, read)

    def forget(self, account_id: int) -> None:
        self._entries.forget(account_id)
