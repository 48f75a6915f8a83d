"""Outgoing webhooks: the endpoints an admin registers, the log of every delivery attempt,
and the rules for signing, filtering and checking them.

A delivery is signed as Stripe signs its own: `t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>." + body>` under the endpoint's secret, so a receiver can refuse tampered, forged and
replayed requests with `verify`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from ordergate.models.errors import Problem
from ordergate.models.events import EventType
from ordergate.models.ids import new_id

DISPATCH_POSITION = "webhook_dispatch"

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION = 255
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 128
SIGNATURE_TOLERANCE = 300
MAX_EVENT_TYPES = 250
SCHEMES = frozenset({"http", "https"})


@dataclass(kw_only=True, eq=False)
class WebhookEndpoint:
    """`event_types` empty means every type. The secret is shown once, when it is made."""

    id: str = field(default_factory=new_id)
    url: str
    event_types: list[str] = field(default_factory=list)
    secret: str
    active: bool = True
    description: str = ""
    created_at: datetime
    created_by: str


@dataclass(kw_only=True, eq=False)
class WebhookAttempt:
    """One POST to an endpoint: its HTTP status, or why there was none. The log index leads
    with the endpoint, so it also serves lookups by endpoint alone."""

    id: str = field(default_factory=new_id)
    endpoint_id: str
    event_id: str
    task_key: str
    attempted_at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return delivered(self.status_code)


@dataclass(frozen=True)
class RegisterEndpoint:
    url: str
    event_types: tuple[str, ...] = ()
    description: str = ""
    secret: str | None = None


@dataclass(frozen=True)
class UpdateEndpoint:
    id: str
    url: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None
    active: bool | None = None
    rotate_secret: bool = False


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def delivery_key(endpoint_id: str, event_id: str) -> str:
    return f"{endpoint_id}:{event_id}"


def delivered(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def accepted_result(status_code: int) -> str:
    """What a delivery task keeps as its result once the receiver accepted it."""
    return f"HTTP {status_code}"


def was_accepted(result: str | None) -> bool:
    """Whether a settled delivery task was accepted (not given up)."""
    return result is not None and result.startswith("HTTP 2")


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str, header: str, body: bytes, now: datetime, tolerance: int = SIGNATURE_TOLERANCE
) -> bool:
    """A receiver's check: a well-formed header, a timestamp within `tolerance` seconds of
    `now`, and one `v1` that matches (compared in constant time)."""
    timestamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not (timestamps[0].isascii() and timestamps[0].isdigit()) or not candidates:
        return False
    timestamp = int(timestamps[0])
    if abs(now.timestamp() - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).partition(",v1=")[2]
    return any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates)


def url_problems(url: str, field: tuple[str, ...] = ("url",)) -> list[Problem]:
    """http or https, with a host, no credentials and nothing a header could not carry."""

    def bad(message: str) -> list[Problem]:
        return [Problem("INVALID_URL", message, field)]

    if len(url) > MAX_URL_LENGTH:
        return bad(f"the URL may be at most {MAX_URL_LENGTH} characters")
    if not url.isprintable() or any(c.isspace() for c in url):
        return bad("the URL may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return bad("the URL cannot be read")
    if parts.scheme.lower() not in SCHEMES:
        return bad("the URL must start with http:// or https://")
    if not parts.hostname:
        return bad("the URL must name a host")
    if parts.username is not None or parts.password is not None:
        return bad("put credentials in the secret, not in the URL")
    return []


def target_problem(field: tuple[str, ...] = ("url",)) -> Problem:
    """The URL's host does not resolve, or resolves to an address webhooks may not reach; which
    of the two, and what it resolved to, is not said."""
    return Problem(
        "WEBHOOK_URL_NOT_ALLOWED",
        "webhooks cannot be sent to this host: it must resolve, and not to an internal address",
        field,
    )


def event_type_problems(
    event_types: Sequence[str], field: tuple[str, ...] = ("event_types",)
) -> list[Problem]:
    if len(event_types) > MAX_EVENT_TYPES:
        return [Problem("TOO_MANY_EVENT_TYPES", f"at most {MAX_EVENT_TYPES} event types", field)]
    known = set(EventType)
    return [
        Problem("UNKNOWN_EVENT_TYPE", f"{event_type!r} is not an event type", (*field, str(index)))
        for index, event_type in enumerate(event_types)
        if event_type not in known
    ]


def secret_problems(secret: str, field: tuple[str, ...] = ("secret",)) -> list[Problem]:
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        return [
            Problem(
                "INVALID_SECRET",
                f"a secret has {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters",
                field,
            )
        ]
    if not secret.isascii() or not secret.isprintable() or " " in secret:
        return [Problem("INVALID_SECRET", "a secret is printable ASCII without spaces", field)]
    return []


def description_problems(description: str, field: tuple[str, ...] = ("description",)) -> list[Problem]:
    if len(description) > MAX_DESCRIPTION:
        return [Problem("INVALID_DESCRIPTION", f"at most {MAX_DESCRIPTION} characters", field)]
    return []


def check_registration(command: RegisterEndpoint) -> list[Problem]:
    return [
        *url_problems(command.url),
        *event_type_problems(command.event_types),
        *description_problems(command.description),
        *(secret_problems(command.secret) if command.secret is not None else []),
    ]


def check_update(command: UpdateEndpoint) -> list[Problem]:
    return [
        *(url_problems(command.url) if command.url is not None else []),
        *(event_type_problems(command.event_types) if command.event_types is not None else []),
        *(description_problems(command.description) if command.description is not None else []),
    ]


def normal_types(event_types: Sequence[str]) -> list[str]:
    return sorted(set(event_types))
