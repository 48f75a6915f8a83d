"""Webhook targets for tests: a resolver that answers from a table (the machine has no outside
DNS), a network backend that records every connection it makes, and the hostile URLs an
attacker would register to reach inside the network, with what a real resolver would say of
their names."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpcore

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"

# What DNS answers for the names below, as a real resolver would.
ANSWERS: dict[str, list[str]] = {
    "hooks.example.com": [PUBLIC_V4, PUBLIC_V6],
    "localhost": ["127.0.0.1", "::1"],
    "foo.localhost": ["127.0.0.1"],
    "metadata": ["169.254.169.254"],
    "metadata.google.internal": ["169.254.169.254"],
    "internal.example.com": ["10.0.0.5"],
    "printer.example.com": ["192.168.1.20"],
    "cgnat.example.com": ["100.64.0.9"],
    "mixed.example.com": [PUBLIC_V4, "10.0.0.5"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "linklocal.example.com": ["fe80::1"],
    "nat64-metadata.example.com": ["64:ff9b::a9fe:a9fe"],
}

# Each is refused with WEBHOOK_URL_NOT_ALLOWED under the default settings.
NOT_ALLOWED = [
    "http://127.0.0.1/",
    "http://127.0.0.1:6379/",
    "http://localhost:8000/hooks",
    "http://LOCALHOST/",
    "http://localhost./",  # a trailing dot makes the name absolute, not another name
    "http://127.0.0.1./",
    "http://foo.localhost/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://[2001:db8::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",
    "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo around 127.0.0.1
    "http://[64:ff9b::7f00:1]/",  # NAT64 around 127.0.0.1
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://2852039166/",  # 169.254.169.254 likewise
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://ｌｏｃａｌｈｏｓｔ/",  # fullwidth letters: IDNA maps them to localhost  # noqa: RUF001
    "http://127。0。0。1/",  # ideographic full stops
    "http://internal.example.com/",
    "http://printer.example.com/",
    "http://cgnat.example.com/",
    "http://mixed.example.com/",  # one public and one private address
    "http://mapped.example.com/",
    "http://linklocal.example.com/",
    "http://nat64-metadata.example.com/",
    "http://nowhere.example.com/",  # does not resolve
]

# Refused before any address is looked at.
INVALID = [
    "http://good@127.0.0.1/",
    "http://hooks.example.com@127.0.0.1/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
]

# Under ORDERGATE_WEBHOOKS_ALLOW_PRIVATE: open to an on-premises network, and still closed.
ON_PREMISES = [
    "http://127.0.0.1:8080/hooks",
    "http://localhost/",
    "http://[::1]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://[fd12:3456::1]/",
    "http://100.64.0.1/",
    "http://internal.example.com/",
    "http://cgnat.example.com/",
    "http://mixed.example.com/",
    "http://[::ffff:10.0.0.1]/",
]
STILL_NOT_ALLOWED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://[::ffff:169.254.169.254]/",
    "http://metadata.google.internal/",
    "http://metadata/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://169.254.1.1/",
    "http://[fe80::1]/",
    "http://linklocal.example.com/",
    "http://nat64-metadata.example.com/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[2001:db8::1]/",
]


@dataclass
class FakeDns:
    """Answers from a table; a name not in it does not resolve. Remembers every question."""

    answers: dict[str, list[str]] = field(default_factory=lambda: dict(ANSWERS))
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.answers[host])


class RecordingNetwork(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, remembering each (host, port) it was asked to connect to."""

    def __init__(self) -> None:
        self._network = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await self._network.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)
