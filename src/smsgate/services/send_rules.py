"""What account management adds to every send (http-api.md §7, §9, §2.5).

The sending service asks this object three things: which tariff plan prices the account's messages
and which account pays for them (a sub-client may share its main account's tariff and/or balance,
users.php ``type``), and which recipients its policy and the operator templates refuse or defer
(limits 247, ``fmts`` 250, mailings 244, hours 246 or deferral, templates 238).

Limits count the messages already stored today; requests running at the same moment do not see each
other, so a burst of concurrent requests can pass a limit by at most the requests in flight.
"""

from __future__ import annotations

import ipaddress

from smsgate.clock import Clock
from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.sending import PreparedSend
from smsgate.domain.subclients import (
    FLAG_MAIN_SENDERS,
    DailyCounts,
    Policy,
    apply_policy,
    day_start,
)
from smsgate.errors import RequestError
from smsgate.services.policies import PolicyService
from smsgate.services.templates import TemplateService
from smsgate.store.db import Database
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import subclients as repo
from smsgate.store.repos.accounts import AccountRecord


class SendRules:
    def __init__(
        self, db: Database, policies: PolicyService, templates: TemplateService, clock: Clock
    ) -> None:
        self._db = db
        self._policies = policies
        self._templates = templates
        self._clock = clock

    async def tariff_plan(self, account: AccountRecord) -> int:
        """The plan that prices the account's messages: its main account's with a shared tariff."""
        if account.parent_id is None:
            return account.tariff_plan
        policy = await self._policies.get(account.id)
        if not policy.share_type.uses_main_tariff:
            return account.tariff_plan
        async with self._db.read() as conn:
            parent = await account_repo.get_by_id(conn, account.parent_id)
        return parent.tariff_plan if parent is not None else account.tariff_plan

    async def payer_id(self, account: AccountRecord) -> int:
        """The account whose balance pays: the main account's with a shared balance."""
        if account.parent_id is None:
            return account.id
        policy = await self._policies.get(account.id)
        return account.parent_id if policy.share_type.uses_main_balance else account.id

    async def signature(self, account: AccountRecord) -> str:
        """The account's auto-signature (templates.php ``fl[1]``), or ""."""
        return await self._templates.signature(account)

    async def shape(
        self, account: AccountRecord, prepared: PreparedSend, user_ip: str | None
    ) -> PreparedSend:
        """``prepared`` with the recipients the policy and operator templates refuse or defer."""
        if user_ip:
            try:
                ipaddress.ip_address(user_ip)
            except ValueError:
                raise RequestError(RequestErrorCode.PARAMETERS, "invalid userip") from None
        policy = await self._policies.get(account.id)
        if policy.shapes_sending and prepared.accepted:
            counts = await self._counts(account, policy, prepared, user_ip)
            prepared = apply_policy(
                prepared, policy, counts, account.tz_minutes, user_ip=bool(user_ip)
            )
        owners = [account.id]
        if account.parent_id is not None and FLAG_MAIN_SENDERS in policy.flags:
            owners.append(account.parent_id)
        return await self._templates.check(owners, prepared)

    async def _counts(
        self, account: AccountRecord, policy: Policy, prepared: PreparedSend, user_ip: str | None
    ) -> DailyCounts:
        if not policy.has_limits:
            return DailyCounts()
        since = day_start(self._clock.now(), account.tz_minutes)
        per_number = policy.plim is not None or policy.tlim is not None
        phones = [r.phone for r in prepared.accepted] if per_number else []
        async with self._db.read() as conn:
            total, per_phone, per_text, per_ip = await repo.daily_counts(
                conn,
                account.id,
                since,
                phones,
                user_ip=user_ip if policy.ilim is not None else None,
            )
        return DailyCounts(total, per_phone, per_text, per_ip)
