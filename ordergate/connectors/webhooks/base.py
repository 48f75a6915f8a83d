"""What the webhook relay needs from a sender: one POST, its status and how long it took."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ordergate.connectors.errors import UpstreamUnavailable

UPSTREAM = "webhooks"


class WebhookSendFailed(UpstreamUnavailable):
    """No HTTP answer at all: refused, reset, timed out. `duration_ms` is how long it took."""

    def __init__(self, message: str, duration_ms: int) -> None:
        super().__init__(UPSTREAM, message)
        self.duration_ms = duration_ms


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, int]:
        """The receiver's status code and the time taken in milliseconds; raises
        WebhookSendFailed when no answer came. Redirects are answers, never followed."""
        ...

    async def aclose(self) -> None: ...
