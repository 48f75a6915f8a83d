"""What the email relay needs from a mailer: one message sent, or why not.

A mailer raises `UpstreamUnavailable` when the message may go later (no connection, a
timeout, a 4xx reply: the relay retries with backoff) and `MailRejected` when the server
refused it for good (a 5xx reply, an address it will never take): retrying cannot help.
"""

from __future__ import annotations

from typing import Protocol

from ordergate.connectors.errors import UpstreamRejected
from ordergate.models.emails import Email

UPSTREAM = "smtp"


class MailRejected(UpstreamRejected):
    """The server refused the message or its recipient permanently (an SMTP 5xx reply)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(UPSTREAM, message, status=status)


class Mailer(Protocol):
    async def send(self, message: Email) -> None:
        """Hand the message to the server; raises as the module says when it did not take it."""
        ...

    async def aclose(self) -> None: ...
