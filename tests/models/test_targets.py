"""Where outgoing webhooks may go: the pure rules, walked as tables."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from ordergate.models.targets import (
    Reach,
    address_allowed,
    allowed,
    canonical_host,
    literal_address,
    name_reach,
    reaches,
)

P, PRIV, LOOP, SHARED, META, LL, UNSPEC, MULTI, BCAST, RES = (
    Reach.PUBLIC,
    Reach.PRIVATE,
    Reach.LOOPBACK,
    Reach.SHARED,
    Reach.METADATA,
    Reach.LINK_LOCAL,
    Reach.UNSPECIFIED,
    Reach.MULTICAST,
    Reach.BROADCAST,
    Reach.RESERVED,
)

ADDRESSES: list[tuple[str, set[Reach]]] = [
    ("93.184.215.14", {P}),
    ("8.8.8.8", {P}),
    ("2606:4700::1111", {P}),
    ("127.0.0.1", {LOOP}),
    ("127.255.255.254", {LOOP}),
    ("::1", {LOOP}),
    ("0.0.0.0", {UNSPEC}),  # noqa: S104 (an address judged, not bound)
    ("0.1.2.3", {UNSPEC}),
    ("::", {UNSPEC}),
    ("169.254.169.254", {META}),
    ("169.254.170.2", {META}),
    ("fd00:ec2::254", {META}),
    ("100.100.100.200", {META}),
    ("169.254.1.1", {LL}),
    ("fe80::1", {LL}),
    ("fe80::1%eth0", {LL}),
    ("10.0.0.1", {PRIV}),
    ("172.16.0.1", {PRIV}),
    ("172.31.255.255", {PRIV}),
    ("192.168.1.1", {PRIV}),
    ("fc00::1", {PRIV}),
    ("fd12:3456::1", {PRIV}),
    ("100.64.0.1", {SHARED}),
    ("100.127.255.254", {SHARED}),
    ("224.0.0.1", {MULTI}),
    ("239.255.255.250", {MULTI}),
    ("ff02::1", {MULTI}),
    ("255.255.255.255", {BCAST}),
    ("240.0.0.1", {RES}),
    ("192.0.0.8", {RES}),
    ("192.0.2.1", {RES}),
    ("198.51.100.1", {RES}),
    ("203.0.113.1", {RES}),
    ("198.18.0.1", {RES}),
    ("198.19.255.255", {RES}),
    ("2001:db8::1", {RES}),
    ("100::1", {RES}),
    ("fec0::1", {RES}),
    ("64:ff9b:1::1", {RES}),
    # IPv4 in IPv6 clothing is the IPv4 address
    ("::ffff:127.0.0.1", {LOOP}),
    ("::ffff:169.254.169.254", {META}),
    ("::ffff:10.0.0.1", {PRIV}),
    ("::ffff:8.8.8.8", {P}),
    ("::127.0.0.1", {LOOP}),
    ("::ffff:0:127.0.0.1", {LOOP}),
    # forwarded to an IPv4 address: judged as both
    ("64:ff9b::7f00:1", {P, LOOP}),
    ("64:ff9b::a9fe:a9fe", {P, META}),
    ("64:ff9b::808:808", {P}),
    ("2002:7f00:1::", {P, LOOP}),
    ("2002:a9fe:a9fe::", {P, META}),
    ("2002:808:808::1", {P}),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", {RES, P, LOOP}),  # Teredo, client 127.0.0.1
]


@pytest.mark.parametrize(("address", "expected"), ADDRESSES)
def test_each_address_is_what_its_range_says(address: str, expected: set[Reach]) -> None:
    assert reaches(ip_address(address)) == expected


ALLOWED_BY_DEFAULT = {P}
ALLOWED_ON_PREMISES = {P, PRIV, LOOP, SHARED}


@pytest.mark.parametrize("reach", list(Reach))
def test_only_public_addresses_are_allowed_unless_private_targets_are(reach: Reach) -> None:
    assert allowed([reach], allow_private=False) == (reach in ALLOWED_BY_DEFAULT)
    assert allowed([reach], allow_private=True) == (reach in ALLOWED_ON_PREMISES)


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200", "fe80::1"]
)
def test_metadata_and_link_local_stay_refused_with_private_targets_allowed(address: str) -> None:
    assert not address_allowed(ip_address(address), allow_private=True)


def test_an_address_forwarding_to_a_refused_one_is_refused_too() -> None:
    assert address_allowed(ip_address("2002:808:808::1"), allow_private=False)
    assert not address_allowed(ip_address("2002:7f00:1::"), allow_private=False)
    assert not address_allowed(ip_address("64:ff9b::a9fe:a9fe"), allow_private=True)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("2852039166", "169.254.169.254"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.000.000.001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.65535", "10.1.255.255"),
        ("0", "0.0.0.0"),  # noqa: S104 (an address read, not bound)
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ],
)
def test_a_literal_is_read_in_every_form_a_resolver_reads(host: str, address: str) -> None:
    assert literal_address(host) == ip_address(address)


@pytest.mark.parametrize(
    "host",
    ["hooks.example.com", "1.2.3.4.5", "256.1.1.1", "1.2.65536", "08.1.1.1", "0x", "0x7g", "1..2", "a::b::c"],
)
def test_anything_else_is_a_name(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize(
    ("host", "canonical"),
    [
        ("Hooks.Example.COM", "hooks.example.com"),
        ("localhost.", "localhost"),
        ("[::1]", "::1"),
        ("ｌｏｃａｌｈｏｓｔ", "localhost"),  # noqa: RUF001
        ("127。0。0。1", "127.0.0.1"),
        ("bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_a_host_is_read_as_the_resolver_reads_it(host: str, canonical: str) -> None:
    assert canonical_host(host) == canonical


@pytest.mark.parametrize("host", ["", ".", "a" * 64 + ".ünïcode"])
def test_a_host_that_cannot_be_encoded_is_an_error(host: str) -> None:
    with pytest.raises(ValueError, match="host"):
        canonical_host(host)


@pytest.mark.parametrize(
    ("host", "reach"),
    [
        ("localhost", LOOP),
        ("foo.localhost", LOOP),
        ("metadata", META),
        ("metadata.google.internal", META),
        ("hooks.example.com", None),
        ("localhost.example.com", None),
    ],
)
def test_some_names_are_what_they_are_whatever_dns_says(host: str, reach: Reach | None) -> None:
    assert name_reach(host) == reach
