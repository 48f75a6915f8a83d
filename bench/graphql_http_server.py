"""The gateway as `bench/graphql_http.py` measures it: the real app (`ordergate.app.create_app`,
same middleware, same /graphql view) plus two baseline routes served by the same process.

    /bench/plain/{availability,board}  the same JSON from the same data with no GraphQL: the
                                       token is verified as the view does, then the same
                                       resolver-level functions the GraphQL resolvers and
                                       dataloaders call (one batched call per kind for the
                                       page), a dict built by hand, serialised by orjson
                                       as the /graphql view serialises its answers
    /bench/bytes/{availability,board}  that response, serialised once at start (the ceiling)

Started by `bench/graphql_http.py`, which prepares the SQLite file first; not for production.
Run alone (debugging): `.venv/bin/python bench/graphql_http_server.py --port 8765` with the
environment that `bench/graphql_http.py` prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ordergate import runtime
from ordergate.app import create_app
from ordergate.auth import bearer, verify_token
from ordergate.bootstrap import Sandboxes, build_services
from ordergate.models.criteria import OrderCriteria
from ordergate.models.errors import DomainError, Unauthenticated
from ordergate.models.identity import Principal
from ordergate.models.money import Money
from ordergate.sandbox.bigcommerce import BigCommerceSandbox
from ordergate.settings import Settings
from ordergate.usecases import backorders, inventory, orders, reads
from ordergate.usecases.inventory import Destination, SkuStock
from ordergate.usecases.services import Services

# The operations' variables, shared with bench/graphql_http.py.
SKUS = ["MUG-BLUE", "POT-DUTCH-5", "KNIFE-CHEF-8", "LAMP-DESK", "CHAIR-OAK"]
DESTINATION = {"countryCode": "US", "postalCode": "78701"}
BOARD_FIRST = 100
# Stock is re-read from the ERP (in-process sandbox) at most this often; at the default 15 s a
# refresh lands at random in one side's window. Raised for both sides alike.
BENCH_STOCK_TTL = timedelta(hours=1)


def _money(amount: Any, currency: str) -> dict[str, Any]:
    money = Money(amount, currency)
    return {"amount": str(money.amount), "currency": money.currency}


def _principal(settings: Settings, request: Request) -> Principal:
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise Unauthenticated("send `Authorization: Bearer <token>`")
    return verify_token(settings, token)


def _availability_json(answers: list[SkuStock], promised: list[date | None]) -> dict[str, Any]:
    return {
        "data": {
            "availability": [
                {
                    "sku": a.sku,
                    "availableToSell": a.available,
                    "promiseDate": _iso(promise),
                    "asOf": a.as_of.isoformat(),
                    "stale": a.stale,
                    "locations": [
                        {
                            "location": {
                                "id": row.location.id,
                                "code": row.location.code,
                                "name": row.location.name,
                                "type": row.location.type.name,
                                "pickupEnabled": row.location.pickup_enabled,
                            },
                            "availableToSell": row.available,
                            "distanceKm": round(row.distance_km, 1) if row.distance_km is not None else None,
                            "incoming": [
                                {"quantity": s.quantity, "expectedOn": s.expected_on.isoformat()}
                                for s in row.incoming
                            ],
                        }
                        for row in a.locations
                    ],
                }
                for a, promise in zip(answers, promised, strict=True)
            ]
        }
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def plain_availability(services: Services, principal: Principal) -> dict[str, Any]:
    destination = Destination(country_code=DESTINATION["countryCode"], postal_code=DESTINATION["postalCode"])
    answers = await inventory.availability(services, principal, SKUS, destination, None)
    promiser = backorders.Promiser(services, answers, None, destination)  # as the resolver does
    return _availability_json(answers, [await promiser.promise_date(a.sku, 1) for a in answers])


async def plain_board(services: Services, principal: Principal) -> dict[str, Any]:
    page = await orders.orders(services, principal, OrderCriteria(), BOARD_FIRST, None)
    wanted = reads.PartsWanted(
        lines=True, fulfillment_orders=True, locations=True, shipments=True, customers=True, storefront=True
    )
    parts = await reads.order_parts(services, page.items, wanted)  # what `Query.orders` reads up front
    assert parts.lines is not None
    assert parts.fulfillment_orders is not None
    assert parts.shipments is not None
    assert parts.locations is not None
    assert parts.customers is not None
    assert parts.storefront is not None
    by_customer, profiles, locations = parts.customers, parts.storefront, parts.locations
    ids = [o.id for o in page.items]
    lines = [parts.lines.get(i, []) for i in ids]
    fulfillment = [parts.fulfillment_orders.get(i, []) for i in ids]
    shipments = [parts.shipments.get(i, []) for i in ids]
    edges = []
    rows = zip(page.items, lines, fulfillment, shipments, strict=True)
    for order, order_lines, fos, order_shipments in rows:
        customer = by_customer[order.customer_id]
        profile = profiles.get(customer.email.casefold())
        name = " ".join(p for p in (profile.first_name, profile.last_name) if p) if profile else ""
        edges.append(
            {
                "cursor": orders.order_cursor(order),
                "node": {
                    "id": order.id,
                    "number": order.number,
                    "status": order.status.name,
                    "fulfillmentStatus": order.fulfillment_status.name,
                    "paymentStatus": order.payment_status.name,
                    "channel": order.channel,
                    "createdAt": order.created_at.isoformat(),
                    "customer": {
                        "id": customer.id,
                        "email": customer.email,
                        "displayName": name or customer.display_name,
                    },
                    "total": _money(order.total, order.currency),
                    "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order_lines],
                    "fulfillmentOrders": [
                        {"status": fo.status.name, "location": {"code": locations[fo.location_id].code}}
                        for fo in fos
                    ],
                    "shipments": [
                        {"carrier": s.carrier, "status": s.status.name, "trackingNumber": s.tracking_number}
                        for s in order_shipments
                    ],
                },
            }
        )
    return {
        "data": {
            "orders": {
                "totalCount": page.total if page.total is not None else len(edges),
                "pageInfo": {
                    "hasNextPage": page.has_next,
                    "endCursor": edges[-1]["cursor"] if edges else None,
                },
                "edges": edges,
            }
        }
    }


PLAIN = {"availability": plain_availability, "board": plain_board}


def bench_routes(services: Services, settings: Settings) -> list[Route]:
    ceiling: dict[str, bytes] = {}

    def plain(name: str) -> Any:
        build = PLAIN[name]

        async def endpoint(request: Request) -> Response:
            await request.body()  # the client sends the GraphQL request; read it as the view does
            try:
                body = await build(services, _principal(settings, request))
            except DomainError as error:
                return JSONResponse({"errors": [{"message": str(error)}]}, status_code=400)
            return Response(orjson.dumps(body), media_type="application/json")

        return endpoint

    def preserialised(name: str) -> Any:
        async def endpoint(request: Request) -> Response:
            await request.body()
            if name not in ceiling:  # filled on first use, after the lifespan has prepared the data
                return Response(b'{"errors":[{"message":"not primed"}]}', status_code=503)
            return Response(ceiling[name], media_type="application/json")

        return endpoint

    async def prime(request: Request) -> Response:
        """The bytes baseline: the plain response, serialised once."""
        principal = _principal(settings, request)
        for name, build in PLAIN.items():
            ceiling[name] = orjson.dumps(await build(services, principal))
        return JSONResponse({name: len(body) for name, body in ceiling.items()})

    routes = [Route("/bench/prime", prime, methods=["POST"])]
    for name in PLAIN:
        routes.append(Route(f"/bench/plain/{name}", plain(name), methods=["POST"]))
        routes.append(Route(f"/bench/bytes/{name}", preserialised(name), methods=["POST"]))
    return routes


def bench_app(settings: Settings) -> tuple[Starlette, Services]:
    """The real app, set up as the benchmarks run it (also by `bench/peer_server.py`)."""
    # The storefront sandbox meters 150 requests per 30 s per token, as BigCommerce does; each
    # OrdersBoard asks it once for its customers' names, so at the default a throughput run
    # would measure that quota. Raised for both sides alike.
    sandboxes = Sandboxes(bigcommerce=BigCommerceSandbox(token=settings.bigcommerce.token, rate_limit=10**9))
    services = build_services(settings, sandboxes=sandboxes)
    services.policy = dataclasses.replace(services.policy, stock_ttl=BENCH_STOCK_TTL)
    return create_app(settings, services, sandboxes), services


def serve(app: Starlette, host: str, port: int) -> None:
    """uvicorn as the benchmarks run it: one process, no access log, WARNING, tuned GC."""
    if not os.environ.get("BENCH_NO_GC_TUNING"):
        runtime.tune_gc_for_serving()  # as `ordergate serve` does
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", log_config=None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    settings = Settings.from_env()
    app, services = bench_app(settings)
    app.router.routes[:0] = bench_routes(services, settings)
    serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
