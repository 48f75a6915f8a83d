"""Where requests to URLs that users supply (our outgoing webhooks) may go: public addresses,
and with `allow_private` also the private, loopback and shared ranges of an on-premises
network; never cloud metadata, link-local, multicast, reserved or unspecified addresses.

A host is judged by every address it stands for: a literal in any form a resolver accepts
(`2130706433`, `0x7f.1`, `0177.0.0.1`, `[::ffff:127.0.0.1]`), a name that is loopback or
metadata by definition (`localhost`, `metadata.google.internal`), or the addresses a resolver
gave for it, all of which must be allowed. IPv6 addresses that carry an IPv4 address (mapped,
compatible, translated, NAT64, 6to4, Teredo) are judged by what they carry too.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

IPAddress = IPv4Address | IPv6Address


class Reach(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    LOOPBACK = "loopback"
    SHARED = "shared"  # carrier-grade NAT, 100.64.0.0/10
    METADATA = "metadata"
    LINK_LOCAL = "link_local"
    UNSPECIFIED = "unspecified"
    MULTICAST = "multicast"
    BROADCAST = "broadcast"
    RESERVED = "reserved"


ALLOWED = frozenset({Reach.PUBLIC})
ALLOWED_ON_PREMISES = frozenset({Reach.PUBLIC, Reach.PRIVATE, Reach.LOOPBACK, Reach.SHARED})

# The first range that holds an address says what it is; an address in none of them is public
# when `ipaddress` calls it global. Metadata comes first: those addresses sit in ranges that
# `allow_private` opens.
RANGES: tuple[tuple[IPv4Network | IPv6Network, Reach], ...] = tuple(
    (ip_network(network), reach)
    for network, reach in (
        ("169.254.169.254/32", Reach.METADATA),  # AWS, GCP, Azure, OCI, DigitalOcean
        ("169.254.170.2/32", Reach.METADATA),  # AWS ECS task credentials
        ("fd00:ec2::254/128", Reach.METADATA),  # AWS over IPv6
        ("100.100.100.200/32", Reach.METADATA),  # Alibaba Cloud
        ("0.0.0.0/8", Reach.UNSPECIFIED),  # "this network": 0.0.0.0 reaches the host itself
        ("::/128", Reach.UNSPECIFIED),
        ("127.0.0.0/8", Reach.LOOPBACK),
        ("::1/128", Reach.LOOPBACK),
        ("169.254.0.0/16", Reach.LINK_LOCAL),
        ("fe80::/10", Reach.LINK_LOCAL),
        ("10.0.0.0/8", Reach.PRIVATE),
        ("172.16.0.0/12", Reach.PRIVATE),
        ("192.168.0.0/16", Reach.PRIVATE),
        ("fc00::/7", Reach.PRIVATE),
        ("100.64.0.0/10", Reach.SHARED),
        ("224.0.0.0/4", Reach.MULTICAST),
        ("ff00::/8", Reach.MULTICAST),
        ("255.255.255.255/32", Reach.BROADCAST),
        ("240.0.0.0/4", Reach.RESERVED),
        ("192.0.0.0/24", Reach.RESERVED),  # IETF protocol assignments
        ("192.0.2.0/24", Reach.RESERVED),  # documentation (TEST-NET-1, -2, -3)
        ("198.51.100.0/24", Reach.RESERVED),
        ("203.0.113.0/24", Reach.RESERVED),
        ("198.18.0.0/15", Reach.RESERVED),  # benchmarking
        ("2001:db8::/32", Reach.RESERVED),  # documentation
        ("2001::/23", Reach.RESERVED),  # IETF protocol assignments, Teredo among them
        ("100::/64", Reach.RESERVED),  # discard
        ("64:ff9b:1::/48", Reach.RESERVED),  # local-use NAT64
        ("fec0::/10", Reach.RESERVED),  # site-local, deprecated
    )
)

# Names that mean the host itself or a cloud's metadata service whatever a resolver says.
METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)

_IPV4_MAPPED = IPv6Network("::ffff:0:0/96")
_IPV4_TRANSLATED = IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_DECIMAL = frozenset("0123456789")
_OCTAL = frozenset("01234567")
_HEX = frozenset("0123456789abcdef")


def canonical_host(host: str) -> str:
    """The host as a resolver sees it: without brackets, lower case, IDNA-encoded the way the
    socket module encodes names (fullwidth letters become `localhost`), without the trailing dot
    that makes a name absolute. Raises ValueError for a host that cannot be encoded."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise ValueError("the host is not a valid name") from error
    host = host.lower()
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    if not host:
        raise ValueError("the host is empty")
    return host


def literal_address(host: str) -> IPAddress | None:
    """The address a canonical host spells out, in any form `inet_aton` reads (one to four
    parts, each decimal, octal with a leading 0, or hex with 0x), or an IPv6 literal; None for
    a name."""
    if ":" in host:
        try:
            return IPv6Address(host)
        except ValueError:
            return None
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_inet_aton_part(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    *leading, last = [n for n in numbers if n is not None]
    if any(n > 0xFF for n in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return IPv4Address(value)


def _inet_aton_part(part: str) -> int | None:
    lowered = part.lower()
    if lowered.startswith("0x"):
        digits = lowered[2:]
        return int(digits, 16) if digits and set(digits) <= _HEX else None
    if not part or not set(part) <= _DECIMAL:
        return None
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if set(part) <= _OCTAL else None
    return int(part)


def name_reach(host: str) -> Reach | None:
    """What a canonical name is by definition (RFC 6761 `localhost`, metadata names), if anything."""
    if host == "localhost" or host.endswith(".localhost"):
        return Reach.LOOPBACK
    if host in METADATA_NAMES:
        return Reach.METADATA
    return None


def reaches(address: IPAddress) -> frozenset[Reach]:
    """What an address is, and what every IPv4 address it carries is."""
    if isinstance(address, IPv6Address):
        if (carried := _represented(address)) is not None:
            return reaches(carried)
        found = {_reach(address)}
        for embedded in _embedded(address):
            found |= reaches(embedded)
        return frozenset(found)
    return frozenset({_reach(address)})


def allowed(found: Iterable[Reach], *, allow_private: bool) -> bool:
    return set(found) <= (ALLOWED_ON_PREMISES if allow_private else ALLOWED)


def address_allowed(address: IPAddress, *, allow_private: bool) -> bool:
    return allowed(reaches(address), allow_private=allow_private)


def _reach(address: IPAddress) -> Reach:
    for network, reach in RANGES:
        if address.version == network.version and address in network:
            return reach
    return Reach.PUBLIC if address.is_global else Reach.RESERVED


def _represented(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address this IPv6 address is only another spelling of: a socket connecting to it
    reaches the IPv4 address."""
    if address in _IPV4_MAPPED or address in _IPV4_TRANSLATED:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 are themselves
        return IPv4Address(int(address))
    return None


def _embedded(address: IPv6Address) -> list[IPv4Address]:
    """IPv4 addresses a gateway would forward this IPv6 address to (NAT64, 6to4, Teredo)."""
    found: list[IPv4Address] = []
    if address in _NAT64:
        found.append(IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found
