"""Links a customer follows without signing in: the order status page, one per order, and
the opt-out of non-essential email, one per customer (`/email/opt-out/<customer id>?t=...`,
under its own HMAC domain, so one link's token never opens the other).

The link carries a token: an HMAC of the order number under a key only the gateway holds, so a
link opens the one order it was made for and cannot be guessed from the number (numbers are
sequential). It does not expire: it is printed in every email an order sends, and a customer
opens last month's email to find this month's return. Whoever has a customer's email has the
link, as with every store's order status page; the page shows what the emails already said.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

TOKEN_LENGTH = 22  # base64url of the first 16 bytes of the HMAC: 128 bits
STATUS_PATH = "/orders"
OPT_OUT_PATH = "/email/opt-out"


@dataclass(frozen=True)
class StatusLinks:
    """Makes and checks order status links for one gateway (its public URL and key)."""

    public_url: str
    key: bytes

    def token(self, number: str) -> str:
        return self._token(b"order-status", number)

    def _token(self, domain: bytes, subject: str) -> str:
        digest = hmac.new(self.key, domain + b"\x00" + subject.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def path(self, number: str) -> str:
        return f"{STATUS_PATH}/{quote(number, safe='')}?t={self.token(number)}"

    def url(self, number: str) -> str:
        return f"{self.public_url.rstrip('/')}{self.path(number)}"

    def valid(self, number: str, token: str) -> bool:
        return _same(self.token(number), token)

    def opt_out_url(self, customer_id: str) -> str:
        token = self._token(b"email-opt-out", customer_id)
        return f"{self.public_url.rstrip('/')}{OPT_OUT_PATH}/{quote(customer_id, safe='')}?t={token}"

    def valid_opt_out(self, customer_id: str, token: str) -> bool:
        return _same(self._token(b"email-opt-out", customer_id), token)


def _same(expected: str, token: str) -> bool:
    if len(token) != TOKEN_LENGTH or not token.isascii():
        return False
    return hmac.compare_digest(expected, token)


def link_key(secret: str) -> bytes:
    """The status links' key, derived from a configured secret (never the secret itself, so a
    link's token tells nothing about the key bearer tokens are signed with)."""
    return hmac.new(secret.encode(), b"ordergate status links", hashlib.sha256).digest()
