"""Receipts matched to their messages, inside the caller's transaction (issue 4 "receipts", issue 5).

A receipt names a message by the provider id of its first part (``messages.provider_id``) or of a
later part (``message_parts``). Each matched receipt counts one part; with every part counted the
message takes its final status (``receipts.py`` has the rules). A receipt that matches nothing:

* is dropped when its id names a message that is already final (a repeated or late receipt);
* otherwise is **parked** (``early_receipts``): a fast SMSC can deliver it before the record of the
  hand-over commits. :func:`record_hand_over` applies parked receipts in the very transaction that
  records the hand-over, and :func:`retry_parked` (the dispatcher's sweep) retries the rest, so one
  recorded by another node is applied too; parked receipts older than 72 h are dropped.

Intermediate receipts (ACCEPTD/ENROUTE) change nothing and are never parked. Parked receipts keep
state and err only (SMPP receipts carry no HLR answer or call length).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.channels.base import Accepted, DeliveryState, Receipt
from smsgate.dispatch.receipts import final_status, part_failure
from smsgate.store.repos import correlation as store
from smsgate.store.repos import dispatch as repo
from smsgate.store.repos.dispatch import ClaimedMessage, StatusChange, Transferred

log = logging.getLogger(__name__)

RETENTION_S = 72 * 3600.0
RETRY_BATCH = 500


async def apply_receipts(
    conn: AsyncConnection,
    connector: str,
    receipts: Sequence[Receipt],
    now: float,
    *,
    park: bool = True,
) -> set[str]:
    """Count ``receipts`` against their messages; the provider ids that matched a message.

    With ``park``, those that match none and name no known message are parked."""
    found = await _find(conn, connector, {r.provider_id for r in receipts})
    progress: dict[int, tuple[int, int | None]] = {}
    finals: list[StatusChange] = []
    done: set[int] = set()
    unmatched: list[Receipt] = []
    for receipt in receipts:
        if receipt.state is DeliveryState.ACCEPTED:
            continue  # intermediate: nothing changes
        message = found.get(receipt.provider_id)
        if message is None:
            unmatched.append(receipt)
            continue
        if message.id in done:
            continue  # more receipts than parts: the message is final already
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
            done.add(message.id)
    partial = [(i, n, f) for i, (n, f) in progress.items() if i not in done]
    await repo.record_parts(conn, partial, now)
    await repo.record_final(conn, finals, now)
    if park and unmatched:
        await _park(conn, connector, unmatched, now)
    return set(found)


async def record_hand_over(
    conn: AsyncConnection,
    connector: str,
    accepted: Sequence[tuple[ClaimedMessage, str]],
    parted: Sequence[tuple[ClaimedMessage, Accepted]],
    now: float,
) -> None:
    """After ``repo.record_submitted(accepted)``: keep the later parts' ids of ``parted``, count the
    parts that get no receipt of their own, and apply receipts parked for any of these ids."""
    await store.record_part_ids(
        conn, connector, [(m.id, pid) for m, a in parted for pid in a.part_ids], now
    )
    await store.expect_receipts(
        conn,
        [
            (m.id, a.receipts)
            for m, a in parted
            if a.receipts is not None and a.receipts != max(m.parts, 1)
        ],
    )
    ids = {pid for _, pid in accepted if pid}
    ids.update(pid for _, a in parted for pid in a.part_ids)
    parked = await store.take_parked(conn, connector, ids)
    if parked:
        await apply_receipts(conn, connector, [_receipt(p) for p in parked], now, park=False)


async def retry_parked(conn: AsyncConnection, now: float) -> int:
    """Apply parked receipts whose messages are recorded by now and drop those past retention;
    how many were applied or dropped."""
    dropped = await store.purge(conn, now - RETENTION_S)
    by_connector: dict[str, list[store.ParkedReceipt]] = defaultdict(list)
    for parked in await store.parked(conn, RETRY_BATCH):
        by_connector[parked.connector].append(parked)
    applied: list[int] = []
    for connector, rows in by_connector.items():
        matched = await apply_receipts(
            conn, connector, [_receipt(p) for p in rows], now, park=False
        )
        applied.extend(p.id for p in rows if p.provider_id in matched)
        # Those whose message went final without them (expired, say) will never match.
        stale = await store.known_ids(
            conn, connector, {p.provider_id for p in rows if p.provider_id not in matched}
        )
        applied.extend(p.id for p in rows if p.provider_id in stale)
    await store.drop_parked(conn, applied)
    if dropped:
        log.info("dropped %d receipts that never found their message in 72 h", dropped)
    return len(applied)


async def _find(
    conn: AsyncConnection, connector: str, provider_ids: set[str]
) -> dict[str, Transferred]:
    found = await repo.find_transferred(conn, connector, list(provider_ids))
    missing = provider_ids - found.keys()
    if missing:
        parts = await store.find_parts(conn, connector, missing)
        if parts:
            waiting = await store.transferred_by_id(conn, set(parts.values()))
            found.update({pid: waiting[mid] for pid, mid in parts.items() if mid in waiting})
    return found


async def _park(
    conn: AsyncConnection, connector: str, unmatched: Sequence[Receipt], now: float
) -> None:
    known = await store.known_ids(conn, connector, {r.provider_id for r in unmatched})
    early = [(r.provider_id, r.state.value, r.err) for r in unmatched if r.provider_id not in known]
    if len(early) < len(unmatched):
        log.info(
            "%s: %d receipts for final messages ignored", connector, len(unmatched) - len(early)
        )
    await store.park(conn, connector, early, now)


def _receipt(parked: store.ParkedReceipt) -> Receipt:
    return Receipt(parked.provider_id, DeliveryState(parked.state), parked.err)
