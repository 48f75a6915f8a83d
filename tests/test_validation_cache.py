"""A document is validated once, however often it is sent; an invalid one keeps its errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ordergate.models.identity import Role
from ordergate.schema import build
from tests.builders import a_token

QUERY = "query Shelf { products(first: 2) { edges { node { sku } } } }"
BROKEN = "query Broken { products(first: 2) { edges { node { nonsense } } } }"


async def test_a_document_is_validated_once_and_its_errors_are_kept(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    build.ValidationCache._results.clear()
    validated: list[str] = []
    validate = build.validate_document  # type: ignore[attr-defined]

    def counted(schema: Any, document: Any, rules: Any) -> Any:
        validated.append(document.definitions[0].name.value)
        return validate(schema, document, rules)

    monkeypatch.setattr(build, "validate_document", counted)
    token = a_token(Role.AGENT)
    for _ in range(3):
        good = (
            await client.post("/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"})
        ).json()
        bad = (
            await client.post(
                "/graphql", json={"query": BROKEN}, headers={"authorization": f"Bearer {token}"}
            )
        ).json()
        assert "errors" not in good
        assert len(good["data"]["products"]["edges"]) == 2
        assert "nonsense" in bad["errors"][0]["message"]
    assert validated == ["Shelf", "Broken"]
