"""Token verification on its own: HS256 by default, RS256 with a configured public key."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ordergate import auth
from ordergate.auth import LEEWAY_SECONDS, VerifiedTokens, bearer, mint_token, verified, verify_token
from ordergate.models.errors import Unauthenticated
from ordergate.models.identity import Principal, Role
from ordergate.settings import Settings


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE, PUBLIC = _rsa_pair()


def claims() -> dict[str, object]:
    """An identity provider's claims, valid for five minutes from now (when the test runs, which
    under xdist can be long after this module was imported)."""
    exp = datetime.now(UTC) + timedelta(minutes=5)
    return {"sub": "idp|42", "role": "customer", "email": "ann@example.com", "exp": exp}


def test_a_minted_token_round_trips() -> None:
    settings = Settings()
    token = mint_token(
        settings, role=Role.ASSOCIATE, now=datetime.now(UTC), subject="sam", locations=["ST-SEA"]
    )

    principal = verify_token(settings, token)

    assert (principal.subject, principal.role, principal.locations) == ("sam", Role.ASSOCIATE, ("ST-SEA",))


def test_rs256_tokens_verify_against_the_configured_public_key() -> None:
    settings = dataclasses.replace(Settings(), jwt_public_key=PUBLIC)

    principal = verify_token(settings, jwt.encode(claims(), PRIVATE, algorithm="RS256"))

    assert (principal.role, principal.email) == (Role.CUSTOMER, "ann@example.com")


def test_rs256_tokens_are_refused_without_a_public_key() -> None:
    with pytest.raises(Unauthenticated, match="RS256"):
        verify_token(Settings(), jwt.encode(claims(), PRIVATE, algorithm="RS256"))


def test_an_rs256_token_signed_by_another_key_is_refused() -> None:
    other_private, _ = _rsa_pair()
    settings = dataclasses.replace(Settings(), jwt_public_key=PUBLIC)

    with pytest.raises(Unauthenticated, match="not valid"):
        verify_token(settings, jwt.encode(claims(), other_private, algorithm="RS256"))


def test_the_public_key_can_be_a_file(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(PUBLIC)

    assert Settings.from_env({"ORDERGATE_JWT_PUBLIC_KEY": str(path)}).jwt_public_key == PUBLIC


@pytest.mark.parametrize(("header", "token"), [(None, None), ("", None), ("Bearer abc", "abc")])
def test_bearer_reads_the_header(header: str | None, token: str | None) -> None:
    assert bearer(header) == token


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Token abc"])
def test_bearer_refuses_other_schemes(header: str) -> None:
    with pytest.raises(Unauthenticated):
        bearer(header)


def test_a_verified_token_is_kept_until_it_expires_and_never_past_it(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    issued = datetime.now(UTC)
    token = mint_token(settings, role=Role.STOREFRONT, now=issued, ttl_seconds=60, subject="shop")
    principal, until = verified(settings, token)
    assert until == int((issued + timedelta(seconds=60)).timestamp()) + LEEWAY_SECONDS  # jwt.decode's limit
    checks: list[str] = []

    def counted(settings: Settings, token: str) -> tuple[Principal, float]:
        checks.append(token)
        return verified(settings, token)

    monkeypatch.setattr(auth, "verified", counted)
    now = [issued.timestamp()]
    tokens = VerifiedTokens(settings, clock=lambda: now[0])
    assert tokens.verify(token) == principal
    now[0] = until - 0.001
    assert tokens.verify(token) == principal
    assert len(checks) == 1  # kept: not verified again before it expires
    now[0] = until
    assert tokens.verify(token) == principal  # verified again (jwt.decode says whether it expired)
    assert len(checks) == 2


def test_a_token_that_fails_is_never_kept_and_what_is_kept_is_bounded() -> None:
    settings = Settings()
    tokens = VerifiedTokens(settings, max_entries=2)
    forged = jwt.encode(
        {**claims(), "role": "admin"}, "not-the-secret-but-just-as-long-as-one-0123", algorithm="HS256"
    )
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            tokens.verify(forged)
    minted = [
        mint_token(settings, role=Role.STOREFRONT, now=datetime.now(UTC), subject=f"shop-{n}")
        for n in range(3)
    ]
    for token in minted:
        tokens.verify(token)
    assert list(tokens._kept) == minted[1:]
