"""Tariffs: price per message part by country, operator and message type, with a default.

A tariff table is a list of rules; ``None`` in a rule means "any". The most specific matching rule
wins: an operator match beats a country match, which beats a type-only match, which beats the default
(all ``None``). Rules belong to a tariff plan; a plan without a matching rule falls back to plan 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from smsgate.domain.codes import MessageType
from smsgate.domain.money import to_ledger


@dataclass(frozen=True, slots=True)
class TariffRule:
    price: Decimal
    country: str | None = None
    operator: str | None = None
    msg_type: MessageType | None = None
    plan: int = 0

    def matches(self, country: str | None, operator: str | None, msg_type: MessageType) -> bool:
        return (
            (self.country is None or self.country == country)
            and (self.operator is None or self.operator == operator)
            and (self.msg_type is None or self.msg_type == msg_type)
        )

    @property
    def specificity(self) -> tuple[bool, bool, bool]:
        return (self.operator is not None, self.country is not None, self.msg_type is not None)


class TariffTable:
    """An immutable set of tariff rules answering "what does one part cost"."""

    def __init__(self, rules: Iterable[TariffRule]) -> None:
        self._rules = tuple(rules)

    @property
    def rules(self) -> tuple[TariffRule, ...]:
        return self._rules

    def price(
        self,
        *,
        country: str | None,
        operator: str | None,
        msg_type: MessageType,
        plan: int = 0,
    ) -> Decimal | None:
        """Price of one part, or ``None`` when no rule (not even a default) applies."""
        for candidate_plan in (plan, 0) if plan else (0,):
            matching = [
                rule
                for rule in self._rules
                if rule.plan == candidate_plan and rule.matches(country, operator, msg_type)
            ]
            if matching:
                return max(matching, key=lambda rule: rule.specificity).price
        return None


def message_cost(price_per_part: Decimal, parts: int) -> Decimal:
    """Cost of a message of ``parts`` parts, rounded to the ledger's precision."""
    return to_ledger(price_per_part * parts)
