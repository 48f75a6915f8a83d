"""Bearer tokens: HS256 with the shared secret, or RS256 against a configured public key."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt

from ordergate.models.errors import Unauthenticated
from ordergate.models.identity import Principal, Role
from ordergate.settings import Settings

LEEWAY_SECONDS = 30


def mint_token(
    settings: Settings,
    *,
    role: Role,
    now: datetime,
    subject: str | None = None,
    email: str | None = None,
    locations: Sequence[str] = (),
    ttl_seconds: int | None = None,
) -> str:
    """An HS256 development token signed with ORDERGATE_JWT_SECRET. Without a subject, the
    email or else the role names the caller, the same every time: idempotency keys are kept per
    subject, so a storefront that re-mints its token and retries a `placeOrder` gets its first
    order back, not a second one."""
    claims: dict[str, Any] = {
        "sub": subject or email or role.value,
        "role": role.value,
        "iss": settings.jwt_issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds or settings.token_ttl_seconds)).timestamp()),
    }
    if email:
        claims["email"] = email
    if locations:
        claims["locations"] = list(locations)
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def verify_token(settings: Settings, token: str) -> Principal:
    """The caller a token names, or Unauthenticated with a reason a client can act on."""
    return verified(settings, token)[0]


def verified(settings: Settings, token: str) -> tuple[Principal, float]:
    """The caller a token names and the time (epoch seconds) from which it is refused as
    expired; or Unauthenticated with a reason a client can act on."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated("the bearer token is malformed") from None
    algorithm = header.get("alg")
    if algorithm == "HS256" and settings.accepts_hs256:
        key: str = settings.jwt_secret
    elif algorithm == "RS256" and settings.jwt_public_key:
        key = settings.jwt_public_key
    else:
        raise Unauthenticated(f"tokens signed with {algorithm!r} are not accepted")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            options={"require": ["sub", "role", "exp"]},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the bearer token has expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the bearer token is not valid") from None
    try:
        role = Role(claims["role"])
    except ValueError:
        raise Unauthenticated(f"unknown role {claims['role']!r}") from None
    locations = claims.get("locations") or []
    email = claims.get("email")
    if not isinstance(locations, list) or not all(isinstance(c, str) for c in locations):
        raise Unauthenticated("the locations claim must be a list of location codes")
    if email is not None and not isinstance(email, str):
        raise Unauthenticated("the email claim must be a string")
    if role is Role.CUSTOMER and not email:
        raise Unauthenticated("a customer token needs an email claim")
    principal = Principal(subject=str(claims["sub"]), role=role, email=email, locations=tuple(locations))
    return principal, float(claims["exp"]) + LEEWAY_SECONDS


@dataclass
class VerifiedTokens:
    """Tokens verified before, each with its caller, kept until it expires (at most
    `max_entries`, least recently used dropped first). A token's signature and claims never
    change, so verifying it again tells nothing new before then; a token that fails is never
    kept. Verifying is most of what a request answered from a kept answer costs."""

    settings: Settings
    max_entries: int = 10_000
    clock: Callable[[], float] = time.time
    _kept: OrderedDict[str, tuple[Principal, float]] = field(default_factory=OrderedDict)

    def verify(self, token: str) -> Principal:
        found = self._kept.get(token)
        if found is not None and self.clock() < found[1]:
            self._kept.move_to_end(token)
            return found[0]
        self._kept.pop(token, None)
        principal, until = verified(self.settings, token)
        while len(self._kept) >= self.max_entries:
            self._kept.popitem(last=False)
        self._kept[token] = (principal, until)
        return principal


def bearer(value: str | None) -> str | None:
    """The token in an `Authorization: Bearer ...` value; None when no credential was sent."""
    if value is None or not value.strip():
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use the Authorization header as `Bearer <token>`")
    return token.strip()
