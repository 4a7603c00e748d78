"""IP allow-lists (CIDR)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allow_list(text: str) -> tuple[IPNetwork, ...]:
    """Parse a comma/space separated list of addresses and CIDRs; ValueError names a bad entry."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR: {item!r}") from None
    return tuple(networks)


def format_allow_list(networks: Iterable[IPNetwork]) -> str:
    return ",".join(str(net) for net in networks)


def ip_allowed(ip: str, networks: tuple[IPNetwork, ...]) -> bool:
    """True when ``ip`` is inside one of ``networks``. An empty list allows nothing here; callers
    treat an empty allow-list as "any address"."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in networks)
