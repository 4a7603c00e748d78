"""The dispatcher: claims due messages in batches, routes each to a connector, hands them over and
records the outcomes and the receipts, each step one group-committed write (issue 4).

Every status change is written with an event row in the same transaction. A claim is a lease: when a
dispatcher dies between the claim and recording the hand-over, the message becomes claimable again
after ``lease_s``. Routing picks, for every message, the first of its route's connectors that is up;
a connector that rejects a message as unroutable passes it to the next one (failover), and a
connector whose rate or window is full gets the rest of its group back in the queue, due when it
will fit.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.channels.base import (
    Accepted,
    Channel,
    OutgoingMessage,
    PermanentFailure,
    Receipt,
    RecoveringChannel,
    RouteFailure,
    SubmitOutcome,
    TransientFailure,
)
from smsgate.clock import Clock
from smsgate.dispatch import correlation
from smsgate.dispatch.claiming import FairClaim
from smsgate.dispatch.connectors import Connector, Connectors
from smsgate.domain.codes import ErrCode, MessageStatus
from smsgate.domain.routing import RouteTable
from smsgate.store.repos import dispatch as repo
from smsgate.store.repos.dispatch import ClaimedMessage, StatusChange
from smsgate.store.writer import LIGHT_ROWS, GroupCommitWriter

log = logging.getLogger(__name__)

RouteSource = Callable[[], Awaitable[RouteTable]]

BATCH_SIZE = 500
LEASE_S = 60.0
RETRY_BASE_S = 10.0
RETRY_MAX_S = 600.0
IDLE_POLL_S = 0.05
# No final result this long after the validity ended → status 3, err 245 (codes.md §3.1).
RECEIPT_GRACE_S = 3600.0
SWEEP_INTERVAL_S = 30.0


def retry_delay(attempts: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter: up to 10 s · 2^(attempts−1), at most 10 min."""
    ceiling = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** max(attempts - 1, 0))
    return rng.uniform(ceiling / 2, ceiling)


@dataclass(slots=True)
class _HandOver:
    """What one batch's hand-over came to, recorded in one write at its end."""

    accepted: dict[str, list[tuple[ClaimedMessage, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    failed: list[StatusChange] = field(default_factory=list)
    unroutable: list[ClaimedMessage] = field(default_factory=list)
    retry: list[ClaimedMessage] = field(default_factory=list)
    deferred: list[tuple[int, float]] = field(default_factory=list)
    # Hand-overs whose parts have ids of their own or whose receipts do not number their parts.
    parted: dict[str, list[tuple[ClaimedMessage, Accepted]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def size(self) -> int:
        """How many messages the record of this hand-over writes."""
        accepted = sum(map(len, self.accepted.values()))
        return (
            accepted
            + len(self.failed)
            + len(self.unroutable)
            + len(self.retry)
            + len(self.deferred)
        )


class Dispatcher:
    def __init__(
        self,
        writer: GroupCommitWriter,
        connectors: Connectors | Sequence[Channel],
        clock: Clock,
        *,
        routes: RouteSource | None = None,
        batch_size: int = BATCH_SIZE,
        lease_s: float = LEASE_S,
        seed: int | None = None,
    ) -> None:
        self._writer = writer
        if not isinstance(connectors, Connectors):
            connectors = Connectors(connectors, clock)
        self._connectors = connectors
        # Without a route table every message may go to any connector, in the order given.
        self._all = [c.name for c in connectors]
        self._routes = routes
        self._clock = clock
        self._claim_fair = FairClaim(batch_size)
        self._lease_s = lease_s
        self._rng = random.Random(seed)  # jitter for retries, not for anything secret
        self._last_sweep: float | None = None
        # While claims find a few messages each, the queue is keeping up and the next claim is a
        # light write (store/writer.py); after a full one it is not.
        self._last_claimed = 0

    async def step(self) -> int:
        """Claim and hand over one batch, then apply the receipts that arrived; how much was done."""
        lease_until = self._clock.now() + self._lease_s
        claimed = await self._claim(lease_until)
        if claimed:
            await self._hand_over(claimed, lease_until)
        applied = 0
        for connector in self._connectors:
            receipts = connector.channel.due_receipts(self._clock.now())
            if receipts:
                await self.store_receipts(connector.name, receipts)
                applied += len(receipts)
        return len(claimed) + applied + await self._sweep()

    async def run_until_idle(self) -> None:
        """Work until nothing is due and no receipt is waiting (tests drive time with a clock)."""
        while await self.step():
            pass

    async def run(self) -> None:
        while True:
            try:
                done = await self.step()
            except Exception:  # a database hiccup must not stop dispatching for good
                log.exception("dispatch step failed")
                done = 0
            if not done:
                await self._clock.sleep(IDLE_POLL_S)

    async def _sweep(self) -> int:
        """Every ``SWEEP_INTERVAL_S``: give up on messages whose receipts never came."""
        now = self._clock.monotonic()
        if self._last_sweep is not None and now - self._last_sweep < SWEEP_INTERVAL_S:
            return 0
        self._last_sweep = now
        wall = self._clock.now()

        async def op(conn: AsyncConnection) -> int:
            expired = await repo.expire_silent(conn, wall - RECEIPT_GRACE_S, wall)
            return len(expired) + await correlation.retry_parked(conn, wall)

        return await self._writer.submit(op)

    async def _claim(self, lease_until: float) -> list[ClaimedMessage]:
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> list[ClaimedMessage]:
            return await self._claim_fair(conn, now, lease_until)

        claimed = await self._writer.submit(op, light=self._last_claimed <= LIGHT_ROWS)
        self._last_claimed = len(claimed)
        return claimed

    async def _candidates(self, claimed: Sequence[ClaimedMessage]) -> dict[int, list[str]]:
        """Each message's connectors in failover order (empty: no route)."""
        if self._routes is None:
            return {m.id: self._all for m in claimed}
        table = await self._routes()
        return {
            m.id: table.connectors(m.msg_type, m.phone, m.country, m.operator, m.account_id)
            for m in claimed
        }

    async def _hand_over(self, claimed: Sequence[ClaimedMessage], lease_until: float) -> None:
        """Hand ``claimed`` over so that none is handed over twice, even across a crash.

        The connector is recorded (committed) before the hand-over and the provider id after it. A
        message claimed again with a connector but no provider id was being handed over when its
        dispatcher died: a channel that can recover says whether it got it; for any other channel
        it is taken as handed over (status 0 without a provider id, so at most once; it expires
        3/245 if no receipt can name it).
        """
        now = self._clock.now()
        candidates = await self._candidates(claimed)
        result = _HandOver()
        result.unroutable = [m for m in claimed if not candidates[m.id]]
        routable = [m for m in claimed if candidates[m.id]]
        live = [m for m in routable if m.valid_until > now]
        result.failed = [_expired(m) for m in routable if m.valid_until <= now]
        pending = await self._settle_in_doubt(live, result)
        pending.sort(key=lambda m: (m.priority, m.id))
        tried: dict[int, set[str]] = defaultdict(set)
        while pending:
            groups = self._group(pending, candidates, tried, result)
            pending = []
            for connector, group in (await self._submit_groups(groups, lease_until)).items():
                for message, outcome in group:
                    if isinstance(outcome, RouteFailure):
                        tried[message.id].add(connector.name)
                        pending.append(message)
                    else:
                        _record(result, connector.name, message, outcome)
        await self._record(result, now)

    def _group(
        self,
        pending: Sequence[ClaimedMessage],
        candidates: dict[int, list[str]],
        tried: dict[int, set[str]],
        result: _HandOver,
    ) -> dict[Connector, list[ClaimedMessage]]:
        """Each pending message to the first connector of its route that is up, untried and has
        room; the others back to the queue (all connectors down: retried later; rate or window
        full: due when they fit; every connector refused it as unroutable: 25/248)."""
        now = self._clock.now()
        groups: dict[Connector, list[ClaimedMessage]] = defaultdict(list)
        for message in pending:
            connector = self._connectors.choose(candidates[message.id], tried[message.id])
            if connector is not None:
                groups[connector].append(message)
            elif any(
                self._connectors.get(name) is not None and name not in tried[message.id]
                for name in candidates[message.id]
            ):
                result.retry.append(message)  # its connectors are down for now
            else:
                result.unroutable.append(message)
        admitted: dict[Connector, list[ClaimedMessage]] = {}
        for connector, group in groups.items():
            room = connector.admit(len(group))
            if room:
                admitted[connector] = group[:room]
            for k, message in enumerate(group[room:], start=1):
                result.deferred.append((message.id, now + connector.delay_for(k)))
        return admitted

    async def _submit_groups(
        self, groups: dict[Connector, list[ClaimedMessage]], lease_until: float
    ) -> dict[Connector, list[tuple[ClaimedMessage, SubmitOutcome]]]:
        """Mark each group with its connector (only messages still under this claim's lease), then
        hand the groups over side by side. A group whose channel raised stays in doubt: its
        messages are claimed again when the lease ends and the channel's recovery decides."""
        now = self._clock.now()

        async def mark(conn: AsyncConnection) -> dict[Connector, set[int]]:
            return {
                connector: await repo.mark_handing_over(
                    conn, [m.id for m in group], connector.name, now, lease_until
                )
                for connector, group in groups.items()
            }

        light = sum(map(len, groups.values())) <= LIGHT_ROWS
        marked = await self._writer.submit(mark, light=light) if groups else {}
        batches = {
            connector: [m for m in group if m.id in marked[connector]]
            for connector, group in groups.items()
        }
        batches = {connector: batch for connector, batch in batches.items() if batch}
        outcomes = await asyncio.gather(
            *(self._submit(connector, batch) for connector, batch in batches.items()),
            return_exceptions=True,
        )
        done: dict[Connector, list[tuple[ClaimedMessage, SubmitOutcome]]] = {}
        for (connector, batch), outcome in zip(batches.items(), outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.error(
                    "%s failed a hand-over of %d", connector.name, len(batch), exc_info=outcome
                )
                continue
            done[connector] = list(zip(batch, outcome, strict=True))
        return done

    async def _submit(
        self, connector: Connector, batch: Sequence[ClaimedMessage]
    ) -> Sequence[SubmitOutcome]:
        connector.in_flight += len(batch)
        try:
            return await connector.channel.submit([_outgoing(m) for m in batch])
        finally:
            connector.in_flight -= len(batch)

    async def _record(self, result: _HandOver, now: float) -> None:
        delays = {m.id: retry_delay(m.attempts, self._rng) for m in result.retry}

        async def op(conn: AsyncConnection) -> None:
            await repo.record_unroutable(conn, result.unroutable, now)
            for connector, accepted in result.accepted.items():
                await repo.record_submitted(conn, accepted, connector, now)
                # Part ids, receipt counts and receipts that came early, in the same transaction.
                await correlation.record_hand_over(
                    conn, connector, accepted, result.parted.get(connector, []), now
                )
            await repo.record_final(conn, result.failed, now)
            await repo.defer(conn, result.deferred, now)
            for message in result.retry:
                await repo.retry_later(conn, [message.id], now + delays[message.id], now)

        await self._writer.submit(op, light=result.size() <= LIGHT_ROWS)

    async def _settle_in_doubt(
        self, live: Sequence[ClaimedMessage], result: _HandOver
    ) -> list[ClaimedMessage]:
        """Record in-doubt messages a channel already holds as accepted; the rest to hand over."""
        fresh = [m for m in live if m.connector is None]
        by_connector: dict[str, list[ClaimedMessage]] = defaultdict(list)
        for message in live:
            if message.connector is not None:
                by_connector[message.connector].append(message)
        for name, in_doubt in by_connector.items():
            connector = self._connectors.get(name)
            channel = connector.channel if connector is not None else None
            if not isinstance(channel, RecoveringChannel):
                log.warning("%d messages in doubt at %s taken as handed over", len(in_doubt), name)
                result.accepted[name].extend((m, "") for m in in_doubt)
                continue
            held = await channel.recover([m.id for m in in_doubt])
            result.accepted[name].extend((m, held[m.id]) for m in in_doubt if m.id in held)
            fresh.extend(m for m in in_doubt if m.id not in held)
        return fresh

    async def store_receipts(self, connector: str, receipts: Sequence[Receipt]) -> None:
        """Apply ``receipts`` of ``connector`` to their messages; returns once committed.

        The receipt sink of channels that must answer a receipt only after it is stored (SMPP
        deliver_sm). A receipt whose hand-over is not recorded yet is kept and applied when it is
        (``correlation.py``)."""
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            await correlation.apply_receipts(conn, connector, receipts, now)

        await self._writer.submit(op, light=len(receipts) <= LIGHT_ROWS)


def _record(
    result: _HandOver, connector: str, message: ClaimedMessage, outcome: SubmitOutcome
) -> None:
    if isinstance(outcome, Accepted):
        result.accepted[connector].append((message, outcome.provider_id))
        if outcome.part_ids or outcome.receipts is not None:
            result.parted[connector].append((message, outcome))
    elif isinstance(outcome, PermanentFailure):
        result.failed.append(
            StatusChange(message.id, message.account_id, outcome.status, outcome.err)
        )
    elif isinstance(outcome, TransientFailure):
        result.retry.append(message)


def _expired(m: ClaimedMessage) -> StatusChange:
    """Validity over before the hand-over: expired; after retries, the operator's queue to blame."""
    err = ErrCode.OPERATOR_QUEUE_OVERFLOW if m.attempts > 1 else ErrCode.NONE
    return StatusChange(m.id, m.account_id, MessageStatus.EXPIRED, err)


def _outgoing(message: ClaimedMessage) -> OutgoingMessage:
    return OutgoingMessage(
        id=message.id,
        phone=message.phone,
        msg_type=message.msg_type,
        sender=message.sender,
        text=message.text,
        parts=message.parts,
        encoding=message.encoding,
        options=message.options,
        test=message.test,
    )
