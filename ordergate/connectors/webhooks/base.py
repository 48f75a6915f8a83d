"""What the webhook relay needs from a sender: one POST, its status and how long it took."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ordergate.connectors.errors import UpstreamUnavailable

UPSTREAM = "webhooks"
TARGET_NOT_ALLOWED = "target not allowed"


class WebhookSendFailed(UpstreamUnavailable):
    """No HTTP answer at all: refused, reset, timed out. `duration_ms` is how long it took."""

    def __init__(self, message: str, duration_ms: int) -> None:
        super().__init__(UPSTREAM, message)
        self.duration_ms = duration_ms


class WebhookTargetRefused(WebhookSendFailed):
    """The URL's host is, or now resolves to, an address webhooks may not reach: nothing was
    sent. The message stays the same whatever the address was."""

    def __init__(self, duration_ms: int) -> None:
        super().__init__(TARGET_NOT_ALLOWED, duration_ms)


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, int]:
        """The receiver's status code and the time taken in milliseconds; raises
        WebhookSendFailed when no answer came (WebhookTargetRefused when the host may not be
        reached). Redirects are answers, never followed."""
        ...

    async def aclose(self) -> None: ...
