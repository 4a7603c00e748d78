"""The dispatcher: claims due messages in batches, hands them to a channel, records the outcomes and
the receipts, each step one group-committed write (issue 4, first part: one channel, no routing).

Every status change is written with an event row in the same transaction. A claim is a lease: when a
dispatcher dies between the claim and recording the hand-over, the message becomes claimable again
after ``lease_s``.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.channels.base import (
    Accepted,
    Channel,
    DeliveryState,
    OutgoingMessage,
    PermanentFailure,
    Receipt,
    RecoveringChannel,
    TransientFailure,
)
from smsgate.clock import Clock
from smsgate.dispatch.receipts import final_status, part_failure
from smsgate.domain.codes import ErrCode, MessageStatus
from smsgate.domain.routing import RouteTable
from smsgate.store.repos import dispatch as repo
from smsgate.store.repos.dispatch import ClaimedMessage, StatusChange
from smsgate.store.writer import GroupCommitWriter

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


class Dispatcher:
    def __init__(
        self,
        writer: GroupCommitWriter,
        channel: Channel,
        clock: Clock,
        *,
        routes: RouteSource | None = None,
        batch_size: int = BATCH_SIZE,
        lease_s: float = LEASE_S,
        seed: int | None = None,
    ) -> None:
        self._writer = writer
        self._channel = channel
        self._routes = routes
        self._clock = clock
        self._batch_size = batch_size
        self._lease_s = lease_s
        self._rng = random.Random(seed)  # jitter for retries, not for anything secret
        self._last_sweep: float | None = None

    async def step(self) -> int:
        """Claim and hand over one batch, then apply the receipts that arrived; how much was done."""
        claimed = await self._claim()
        if claimed:
            await self._hand_over(claimed)
        receipts = self._channel.due_receipts(self._clock.now())
        if receipts:
            await self._apply_receipts(receipts)
        return len(claimed) + len(receipts) + await self._sweep()

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
            return len(await repo.expire_silent(conn, wall - RECEIPT_GRACE_S, wall))

        return await self._writer.submit(op)

    async def _claim(self) -> list[ClaimedMessage]:
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> list[ClaimedMessage]:
            return await repo.claim(conn, now, self._batch_size, now + self._lease_s)

        return await self._writer.submit(op)

    async def _route(
        self, claimed: Sequence[ClaimedMessage]
    ) -> tuple[list[ClaimedMessage], list[ClaimedMessage]]:
        """(messages this dispatcher's channel carries, messages no route matches)."""
        if self._routes is None:
            return list(claimed), []
        table = await self._routes()
        routed: list[ClaimedMessage] = []
        unroutable: list[ClaimedMessage] = []
        for m in claimed:
            candidates = table.connectors(m.msg_type, m.phone, m.country, m.operator, m.account_id)
            # Failover to other connectors comes with the connector registry (issue 4).
            (routed if self._channel.name in candidates else unroutable).append(m)
        return routed, unroutable

    async def _hand_over(self, claimed: Sequence[ClaimedMessage]) -> None:
        """Hand ``claimed`` over so that none is handed over twice, even across a crash.

        The connector is recorded (committed) before the hand-over and the provider id after it. A
        message claimed again with a connector but no provider id was being handed over when its
        dispatcher died: a channel that can recover says whether it got it; for any other channel
        it is taken as handed over (status 0 without a provider id, so at most once; it expires
        3/245 if no receipt can name it).
        """
        now = self._clock.now()
        claimed, unroutable = await self._route(claimed)
        live = [m for m in claimed if m.valid_until > now]
        expired = [_expired(m) for m in claimed if m.valid_until <= now]
        accepted, fresh = await self._settle_in_doubt(live)
        connector = self._channel.name
        if fresh:
            await self._mark_handing_over([m.id for m in fresh], connector, now)
        outcomes = await self._channel.submit([_outgoing(m) for m in fresh]) if fresh else []
        failed = list(expired)
        retry: list[ClaimedMessage] = []
        for message, outcome in zip(fresh, outcomes, strict=True):
            if isinstance(outcome, Accepted):
                accepted.append((message, outcome.provider_id))
            elif isinstance(outcome, PermanentFailure):
                failed.append(
                    StatusChange(message.id, message.account_id, outcome.status, outcome.err)
                )
            elif isinstance(outcome, TransientFailure):
                retry.append(message)
        delays = {m.id: retry_delay(m.attempts, self._rng) for m in retry}

        async def op(conn: AsyncConnection) -> None:
            await repo.record_unroutable(conn, unroutable, now)
            await repo.record_submitted(conn, accepted, connector, now)
            await repo.record_final(conn, failed, now)
            for message in retry:
                await repo.retry_later(conn, [message.id], now + delays[message.id], now)

        await self._writer.submit(op)

    async def _settle_in_doubt(
        self, live: Sequence[ClaimedMessage]
    ) -> tuple[list[tuple[ClaimedMessage, str]], list[ClaimedMessage]]:
        """(in-doubt messages already with the channel, messages to hand over now)."""
        in_doubt = [m for m in live if m.connector is not None]
        fresh = [m for m in live if m.connector is None]
        if not in_doubt:
            return [], fresh
        if not isinstance(self._channel, RecoveringChannel):
            log.warning("%d messages in doubt taken as handed over", len(in_doubt))
            return [(m, "") for m in in_doubt], fresh
        held = await self._channel.recover([m.id for m in in_doubt])
        accepted = [(m, held[m.id]) for m in in_doubt if m.id in held]
        return accepted, fresh + [m for m in in_doubt if m.id not in held]

    async def _mark_handing_over(self, ids: list[int], connector: str, now: float) -> None:
        async def op(conn: AsyncConnection) -> None:
            await repo.mark_handing_over(conn, ids, connector, now)

        await self._writer.submit(op)

    async def _apply_receipts(self, receipts: Sequence[Receipt]) -> None:
        connector = self._channel.name
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            found = await repo.find_transferred(conn, connector, [r.provider_id for r in receipts])
            progress: dict[int, tuple[int, int | None]] = {}
            finals: list[StatusChange] = []
            for receipt in receipts:
                message = found.get(receipt.provider_id)
                if message is None or receipt.state is DeliveryState.ACCEPTED:
                    continue  # unknown, already final, or intermediate
                received, failed_err = progress.get(
                    message.id, (message.parts_received, message.failed_err)
                )
                received += 1
                failure = part_failure(receipt.state, receipt.err)
                if failed_err is None and failure is not None:
                    failed_err = failure
                progress[message.id] = (received, failed_err)
                if received >= max(message.parts, 1):
                    status, err = final_status(failed_err, receipt.state, receipt.err)
                    hlr = json.dumps(asdict(receipt.hlr)) if receipt.hlr is not None else None
                    finals.append(StatusChange(message.id, message.account_id, status, err, hlr))
            done = {c.message_id for c in finals}
            partial = [(i, n, f) for i, (n, f) in progress.items() if i not in done]
            await repo.record_parts(conn, partial, now)
            await repo.record_final(conn, finals, now)

        await self._writer.submit(op)


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
