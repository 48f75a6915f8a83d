"""The vendors' OpenAPI documents (../shared/specs) and checks of real traffic against them.

`SpecCheck` validates an httpx request, response or webhook delivery with openapi-core, after
mapping the URL it was sent to (a sandbox mount) onto the spec's server URL. Tests that need a
spec skip, with the reason, when ../shared/specs is not there.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import yaml  # type: ignore[import-untyped]
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.validators import (
    V31WebhookRequestBodyValidator,
    V31WebhookRequestParametersValidator,
)
from openapi_schema_validator import OAS30ReadValidator
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPECS = Path(__file__).resolve().parents[1].parent / "shared" / "specs"
KATANA = "katana/katana-openapi.prism-patched.yaml"


def require_spec(relative: str) -> Path:
    path = SPECS / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent: the vendor specs live in ../shared/specs beside the project")
    return path


@functools.cache
def _load(path: Path) -> tuple[dict[str, Any], OpenAPI]:
    document = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    # Checking the 25k-line document itself takes seconds; the vendor's spec is a given.
    return document, OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


class SpecCheck:
    """Validates traffic sent to `served_at` as if it had gone to the spec's first server."""

    def __init__(self, relative: str, *, served_at: str) -> None:
        self.document, self.openapi = _load(require_spec(relative))
        self.served_at = served_at.rstrip("/")
        self.server = str(self.document["servers"][0]["url"]).rstrip("/")

    def check_request(self, request: httpx.Request) -> None:
        wrapped = _Request(request, self._spec_url(request))
        errors = list(self.openapi.iter_request_errors(wrapped))
        assert not errors, f"{request.method} {request.url}: {_explain(errors)}"
        undeclared = set(wrapped.parameters.query) - self._declared_query(wrapped)
        assert not undeclared, f"{request.method} {request.url.path}: undeclared query {sorted(undeclared)}"

    def check_response(self, response: httpx.Response) -> None:
        request = _Request(response.request, self._spec_url(response.request))
        errors = list(self.openapi.iter_response_errors(request, _Response(response)))
        label = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
        assert not errors, f"{label}: {_explain(errors)}"

    def check_webhook(self, name: str, request: httpx.Request) -> None:
        """The body and parameters of a delivery to us; security is left out, because a document-wide
        `security` (Katana's bearer token) applies to its webhooks too, which no sender fulfils."""
        wrapped = _WebhookRequest(request, name)
        errors = [
            *V31WebhookRequestBodyValidator(self.openapi.spec).iter_errors(wrapped),
            *V31WebhookRequestParametersValidator(self.openapi.spec).iter_errors(wrapped),
        ]
        assert not errors, f"webhook {name}: {_explain(errors)}"

    def schema(self, name: str) -> dict[str, Any]:
        schema: dict[str, Any] = self.document["components"]["schemas"][name]
        return schema

    def _spec_url(self, request: httpx.Request) -> str:
        url = str(request.url)
        assert url.startswith(self.served_at), f"{url} was not sent to {self.served_at}"
        return self.server + url[len(self.served_at) :]

    def _declared_query(self, request: _Request) -> set[str]:
        relative = request.path[len(urlsplit(self.server).path) :]
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\{[^/}]+\}", "[^/]+", template) + "$"
            if re.match(pattern, relative) and request.method in item:
                parameters = [*item.get("parameters", []), *item[request.method].get("parameters", [])]
                return {
                    resolved["name"]
                    for resolved in map(self._resolve, parameters)
                    if resolved["in"] == "query"
                }
        raise AssertionError(f"{request.method.upper()} {relative} is not in the spec")

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node


def _explain(errors: list[Exception]) -> str:
    parts = []
    for error in errors:
        causes = getattr(error.__cause__, "schema_errors", ())
        details = [f"/{'/'.join(map(str, cause.absolute_path))}: {cause.message}" for cause in causes[:5]]
        parts.append(f"{type(error).__name__}: {details or error}")
    return "; ".join(parts)


class _Request:
    """An httpx request in openapi-core's Request protocol, at the spec's URL."""

    def __init__(self, request: httpx.Request, url: str) -> None:
        self._request = request
        parts = urlsplit(url)
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True)),
            header=Headers(list(request.headers.multi_items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("content-type", ""))


class _WebhookRequest(_Request):
    def __init__(self, request: httpx.Request, name: str) -> None:
        super().__init__(request, str(request.url))
        self.name = name


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return str(self._response.headers.get("content-type", ""))

    @property
    def headers(self) -> Headers:
        return Headers(list(self._response.headers.multi_items()))

    @property
    def data(self) -> bytes:
        return self._response.content


def katana(served_at: str) -> SpecCheck:
    return SpecCheck(KATANA, served_at=served_at)


def ups(document: str, served_at: str) -> SpecCheck:
    """UPS's `Rating`, `Shipping`, `Tracking` or `UPSTrackAlert` document, for traffic to the API root
    `served_at` (the documents' servers already end in /api)."""
    return SpecCheck(f"ups/ups-{document}.prism-patched.yaml", served_at=served_at.rstrip("/") + "/api")


def ups_oauth(served_at: str) -> SpecCheck:
    """UPS's token document names its servers on the operation alone, where `SpecCheck.__init__`
    does not look: this check is built by hand, validating as if sent to the first of them."""
    check = SpecCheck.__new__(SpecCheck)
    check.document, check.openapi = _load(require_spec("ups/ups-OAuthClientCredentials.yaml"))
    check.served_at = served_at.rstrip("/")
    operation = check.document["paths"]["/security/v1/oauth/token"]["post"]
    check.server = str(operation["servers"][0]["url"]).rstrip("/")
    return check


SHIPENGINE = "shipengine/shipengine-openapi.prism-patched.yaml"


class ClosedAllOfSpecCheck(SpecCheck):
    """A `SpecCheck` for documents that pair `additionalProperties: false` with `allOf` (ShipEngine's).

    Their authors mean "no properties beyond those of the parts", which OpenAPI 3.0's JSON Schema
    cannot say: each part alone refuses the other parts' properties, so no instance is valid. The
    loaded copy lists the parts' property names on the whole and lifts `additionalProperties` from
    the parts; a property that no part declares is still refused. Likewise `nullable: true` beside
    an `allOf` (a nullable reference) admits null, as its authors mean; OpenAPI 3.0.3 reads it as
    adding nothing without a `type`.
    """

    def __init__(self, relative: str, *, served_at: str) -> None:
        self.document, self.openapi = _load_closed(require_spec(relative))
        self.served_at = served_at.rstrip("/")
        self.server = str(self.document["servers"][0]["url"]).rstrip("/")

    def check_schema(self, name: str, instance: Any) -> None:
        """`instance` against a component schema, read as an answer (readOnly properties allowed):
        for bodies the document declares no operation for, such as a 401 or a webhook delivery."""
        root = {"$ref": f"#/components/schemas/{name}", "components": self.document["components"]}
        validator = OAS30ReadValidator(root, format_checker=OAS30ReadValidator.FORMAT_CHECKER)
        errors = [
            f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)
        ]
        assert not errors, f"{name}: {errors[:5]}"


def shipengine(served_at: str) -> ClosedAllOfSpecCheck:
    return ClosedAllOfSpecCheck(SHIPENGINE, served_at=served_at)


@functools.cache
def _load_closed(path: Path) -> tuple[dict[str, Any], OpenAPI]:
    document = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    closed = _close_all_of(document)
    return closed, OpenAPI.from_dict(closed, config=Config(spec_validator_cls=None))


def _close_all_of(document: dict[str, Any]) -> dict[str, Any]:
    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def names(node: dict[str, Any]) -> set[str]:
        node = resolve(node)
        found = set(node.get("properties", {}))
        for part in node.get("allOf", []):
            found |= names(part)
        return found

    seen: set[int] = set()

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        if not isinstance(node, dict) or id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node.get("allOf"), list):
            parts = [
                resolve(part) if resolve(part).get("additionalProperties") is False else part
                for part in node["allOf"]
            ]
            node["allOf"] = [
                {key: value for key, value in part.items() if key != "additionalProperties"}
                if part.get("additionalProperties") is False
                else part
                for part in parts
            ]
            if node.get("additionalProperties") is False:
                properties = node.setdefault("properties", {})
                for name in sorted(names(node) - properties.keys()):
                    properties[name] = {}
            if node.get("nullable") is True and "type" not in node:
                null = {"type": "string", "nullable": True, "enum": [None]}
                node["anyOf"] = [{"allOf": node.pop("allOf")}, null]
        for value in list(node.values()):
            visit(value)

    visit(document)
    return document


BIGCOMMERCE_DOCUMENTS = {
    "/v2/": "bigcommerce/bigcommerce-orders.v2.oas2.yml",
    "/v3/customers": "bigcommerce/bigcommerce-customers.v3.yml",
    "/v3/catalog/variants": "bigcommerce/bigcommerce-product-variants_catalog.v3.yml",
    "/v3/catalog/products": "bigcommerce/bigcommerce-products_catalog.v3.yml",
    "/v3/inventory/adjustments": "bigcommerce/bigcommerce-inventory.v3.yml",
    "/v3/inventory/locations": "bigcommerce/bigcommerce-locations.v3.yml",
    "/v3/hooks": "bigcommerce/bigcommerce-webhooks.v3.yml",
    "/v3/orders": "bigcommerce/bigcommerce-orders.v3.yml",
}
"""Path prefix below the store root -> the BigCommerce document that declares it. The orders v2
file is named `.oas2` but is OpenAPI 3.0.0, so openapi-core loads it like the v3 ones."""


class BigCommerceSpecCheck(SpecCheck):
    """A `SpecCheck` for a BigCommerce document, whose server URL carries `{store_hash}`: the
    variable is filled with its default, so the mapped URL is a concrete one."""

    def __init__(self, relative: str, *, served_at: str) -> None:
        super().__init__(relative, served_at=served_at)
        server = self.document["servers"][0]
        url = str(server["url"])
        for name, variable in server.get("variables", {}).items():
            url = url.replace("{" + name + "}", str(variable["default"]))
        self.server = url.rstrip("/")

    def check_schema(self, name: str, instance: Any) -> None:
        """`instance` against a component schema, read as an answer: for bodies the document
        declares no operation for, such as BigCommerce's webhook callbacks."""
        root = {"$ref": f"#/components/schemas/{name}", "components": self.document["components"]}
        validator = OAS30ReadValidator(root, format_checker=OAS30ReadValidator.FORMAT_CHECKER)
        errors = [
            f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)
        ]
        assert not errors, f"{name}: {errors[:5]}"


class BigCommerceSpecs:
    """Checks traffic to a BigCommerce store root `served_at` (`.../v2/orders`, `.../v3/hooks`)
    against whichever BigCommerce document declares its path."""

    def __init__(self, served_at: str) -> None:
        self.served_at = served_at.rstrip("/")

    def for_path(self, path: str) -> BigCommerceSpecCheck:
        relative = path[len(urlsplit(self.served_at).path) :]
        for prefix, document in BIGCOMMERCE_DOCUMENTS.items():
            if relative.startswith(prefix):
                version = prefix[:3]
                return BigCommerceSpecCheck(document, served_at=self.served_at + version)
        raise AssertionError(f"no BigCommerce document declares {relative}")

    def document(self, prefix: str) -> BigCommerceSpecCheck:
        return BigCommerceSpecCheck(BIGCOMMERCE_DOCUMENTS[prefix], served_at=self.served_at + prefix[:3])

    def check_request(self, request: httpx.Request) -> None:
        self.for_path(request.url.path).check_request(request)

    def check_response(self, response: httpx.Response) -> None:
        self.for_path(response.request.url.path).check_response(response)


def bigcommerce(served_at: str) -> BigCommerceSpecs:
    return BigCommerceSpecs(served_at)
