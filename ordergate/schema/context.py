"""The per-request context: who is calling, the services, and fresh dataloaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry
from strawberry.types.info import Info as StrawberryInfo

from ordergate.models.errors import Unauthenticated
from ordergate.models.identity import Principal
from ordergate.schema.loaders import Loaders
from ordergate.usecases.services import Services


@dataclass
class Context:
    services: Services
    principal: Principal | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connection_params: dict[str, Any] | None = None
    client_address: str | None = None
    router: bool = False  # the request came from the federation router, with ORDERGATE_ROUTER_TOKEN
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.services)

    def fresh_loaders(self) -> None:
        """Subscriptions outlive a request: each delivered event reads current data."""
        self.loaders = Loaders(self.services)

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("send `Authorization: Bearer <token>`; `ordergate token` mints one")
        return self.principal


Info: TypeAlias = StrawberryInfo[Context, None]


def principal(info: Info) -> Principal:
    return info.context.require_principal()


def services(info: Info) -> Services:
    return info.context.services


__all__ = ["Context", "Info", "principal", "services", "strawberry"]
