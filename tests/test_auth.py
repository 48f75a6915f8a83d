"""Token verification on its own: HS256 by default, RS256 with a configured public key."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ordergate.auth import bearer, mint_token, verify_token
from ordergate.models.errors import Unauthenticated
from ordergate.models.identity import Role
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
