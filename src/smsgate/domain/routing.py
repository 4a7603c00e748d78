"""Routes: which connector carries a message (issue 4, "Routing").

A route matches by message type, country, operator, number prefix and account; ``None`` means any.
Routes are tried in ``position`` order and every match is a candidate, so a later match is the
failover of an earlier one. A message no route matches cannot be sent: status 25, err 248.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    position: int
    connector: str
    msg_type: int | None = None
    country: str | None = None
    operator: str | None = None
    prefix: str | None = None
    account_id: int | None = None

    def matches(
        self,
        msg_type: int,
        phone: str,
        country: str | None,
        operator: str | None,
        account_id: int,
    ) -> bool:
        return (
            (self.msg_type is None or self.msg_type == msg_type)
            and (self.country is None or self.country == country)
            and (self.operator is None or self.operator == operator)
            and (self.prefix is None or phone.startswith(self.prefix))
            and (self.account_id is None or self.account_id == account_id)
        )


class RouteTable:
    """Ordered routes; with no routes at all, everything goes to the ``default`` connector, or to
    the default of its message type when ``type_defaults`` names one (e-mail → the e-mail channel
    when one is configured)."""

    def __init__(
        self,
        routes: Iterable[Route],
        default: str,
        *,
        type_defaults: Mapping[int, str] | None = None,
    ) -> None:
        self._routes = tuple(sorted(routes, key=lambda r: r.position))
        self._default = default
        self._type_defaults = dict(type_defaults or {})

    @property
    def routes(self) -> tuple[Route, ...]:
        return self._routes

    def connectors(
        self,
        msg_type: int,
        phone: str,
        country: str | None,
        operator: str | None,
        account_id: int,
    ) -> list[str]:
        """Candidate connectors in failover order; empty when no route matches."""
        if not self._routes:
            return [self._type_defaults.get(msg_type, self._default)]
        chosen: list[str] = []
        for route in self._routes:
            if route.connector not in chosen and route.matches(
                msg_type, phone, country, operator, account_id
            ):
                chosen.append(route.connector)
        return chosen
