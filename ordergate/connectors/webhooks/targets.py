"""Resolving the host of a webhook URL and judging every address it resolves to
(`ordergate.models.targets`): at registration, and again at each connection, which then goes
only to an address judged in that same step (see `http.py`).

Refusals say nothing about what a name resolved to: a refused and an unresolvable host read
the same to whoever registered it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import urlsplit

from ordergate.models.targets import (
    IPAddress,
    address_allowed,
    allowed,
    canonical_host,
    literal_address,
    name_reach,
)

RESOLVE_SECONDS = 5.0

Resolver = Callable[[str], Awaitable[Sequence[str]]]
"""A host name (canonical, ASCII) to the addresses it stands for; raises OSError when it has none."""


class TargetRefused(Exception):
    """The host is, or resolves to, an address webhooks may not reach (or cannot be read)."""


class TargetUnresolvable(Exception):
    """The host resolved to nothing (or not in time)."""


async def system_resolver(host: str) -> list[str]:
    """The operating system's resolver, off the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class TargetGuard:
    """Which hosts webhooks may reach; `allow_private` opens private, loopback and shared
    addresses for on-premises receivers (metadata and link-local stay closed)."""

    allow_private: bool = False
    resolver: Resolver = field(default=system_resolver)
    resolve_seconds: float = RESOLVE_SECONDS

    async def addresses(self, host: str) -> list[IPAddress]:
        """Every address `host` stands for, each one allowed; raises TargetRefused when any is
        not, TargetUnresolvable when there are none."""
        try:
            host = canonical_host(host)
        except ValueError:
            raise TargetRefused("the host cannot be read") from None
        if (literal := literal_address(host)) is not None:
            found = [literal]
        else:
            named = name_reach(host)
            if named is not None and not allowed([named], allow_private=self.allow_private):
                raise TargetRefused("the host is not allowed")
            found = await self._resolve(host)
        if not all(address_allowed(address, allow_private=self.allow_private) for address in found):
            raise TargetRefused("the host is not allowed")
        return found

    async def check_url(self, url: str) -> None:
        """Refuse a URL whose host the sender would not connect to. (Should the sender's URL
        parser read another host out of it, that host is judged when it connects.)"""
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if not host:
            raise TargetRefused("the URL names no host")
        await self.addresses(host)

    async def _resolve(self, host: str) -> list[IPAddress]:
        try:
            async with asyncio.timeout(self.resolve_seconds):
                answers = await self.resolver(host)
        except (OSError, UnicodeError, TimeoutError):
            raise TargetUnresolvable("the host did not resolve") from None
        found: list[IPAddress] = []
        for answer in answers:
            try:
                address = ip_address(answer)
            except ValueError:
                raise TargetRefused("the host resolved to something that is not an address") from None
            if address not in found:
                found.append(address)
        if not found:
            raise TargetUnresolvable("the host did not resolve")
        return found
