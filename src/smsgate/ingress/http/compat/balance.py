"""balance.php (http-api.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from smsgate.domain.money import display
from smsgate.ingress.http.compat.pipeline import CompatContext
from smsgate.ingress.http.formats import Reply, to_json, xml_element

# Every balance request of a login counts toward one limit, whatever its parameters.
_FINGERPRINT = "balance.php"


@dataclass(frozen=True, slots=True)
class BalanceReply:
    balance: Decimal
    credit: Decimal | None
    currency: str | None

    def render(self, fmt: int) -> str:
        if fmt == 3:
            data = {"balance": display(self.balance)}
            if self.credit is not None:
                data["credit"] = display(self.credit)
            if self.currency is not None:
                data["currency"] = self.currency
            return to_json(data)
        if fmt == 2:
            if self.credit is None and self.currency is None:
                return xml_element("balance", self.balance)
            inner = xml_element("balance", self.balance)
            if self.credit is not None:
                inner += xml_element("credit", self.credit)
            if self.currency is not None:
                inner += xml_element("currency", self.currency)
            return f"<result>{inner}</result>"
        text = display(self.balance)
        return f"{text},{self.currency}" if self.currency is not None else text


async def handle(ctx: CompatContext) -> Reply:
    await ctx.limit(ctx.services.settings.limits.balance, fingerprint=_FINGERPRINT)
    # The balance must be exact: read the row now rather than the cached one used for auth.
    # Sub-clients on the main balance see the main balance (issue 7).
    paying = await ctx.services.subclients.paying_account_id(ctx.account)
    account = await ctx.services.directory.fresh(paying) or ctx.account
    return BalanceReply(
        balance=account.balance,
        credit=account.credit_limit if account.credit_limit > 0 else None,
        currency=account.currency if ctx.params.get("cur") == "1" else None,
    )
