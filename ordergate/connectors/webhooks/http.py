"""Sending our webhooks over HTTP: one POST, no retries (the outbox retries), no redirects
followed, the response body never read, and transport failures translated."""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx

from ordergate.connectors.webhooks.base import WebhookSendFailed

TIMEOUT_SECONDS = 10.0


class HttpWebhookSender:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @classmethod
    def create(
        cls, *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = TIMEOUT_SECONDS
    ) -> HttpWebhookSender:
        return cls(httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False))

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, int]:
        started = time.perf_counter()
        try:
            async with self._client.stream("POST", url, content=body, headers=dict(headers)) as response:
                status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise WebhookSendFailed(f"{type(error).__name__}: {error}"[:300], _since(started)) from error
        return status, _since(started)

    async def aclose(self) -> None:
        await self._client.aclose()


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
