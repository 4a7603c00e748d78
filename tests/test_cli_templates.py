"""``smsgate optemplate …`` and ``smsgate sender approve``: the platform admin's side of operator
templates and sender names, run as a real process (http-api.md §8, §9)."""

from __future__ import annotations

from decimal import Decimal

from smsgate.domain.templates import OpTemplateStatus
from smsgate.services.container import Services
from smsgate.services.senders import SenderStatus
from tests.support.clock import ManualClock
from tests.test_cli import env, smsgate  # noqa: F401 - the env fixture

PASSWORD = "password-1"


async def test_list_and_review_operator_templates(
    services: Services,
    env: dict[str, str],  # noqa: F811
) -> None:
    alice = await services.accounts.create("alice", PASSWORD, balance=Decimal("1"))
    await services.senders.add(alice, "Shop")
    await services.templates.register(alice, "Shop", "Code %", [("mts", "auth"), ("bee", "trn")])
    await services.templates.review(2, OpTemplateStatus.REJECTED)

    listed = smsgate(env, "optemplate", "list", "--status", "submitted").stdout
    assert listed == f"1\taccount {alice.id}\tShop\tmts\tauth\tsubmitted\tCode %\n"
    assert "approved" in smsgate(env, "optemplate", "approve", "1").stdout
    states = [t.status for t in await services.templates.op_templates(alice)]
    assert states == [OpTemplateStatus.APPROVED, OpTemplateStatus.REJECTED]


async def test_operators_requiring_templates(
    services: Services,
    clock: ManualClock,
    env: dict[str, str],  # noqa: F811
) -> None:
    smsgate(env, "optemplate", "require", "МТС", "mts")
    assert await services.templates.required_operators() == {"МТС": "mts"}
    smsgate(env, "optemplate", "unrequire", "МТС")
    await clock.advance(6)  # another process's change shows within the cache time
    assert await services.templates.required_operators() == {}


async def test_admin_approves_sender_names(
    services: Services,
    env: dict[str, str],  # noqa: F811
) -> None:
    alice = await services.accounts.create("alice", PASSWORD, balance=Decimal("1"))
    await services.senders.add(alice, "Shop")
    smsgate(env, "sender", "approve", "alice", "Shop")
    assert [s.status for s in await services.senders.list(alice)] == [SenderStatus.ACTIVE]
