"""Webhooks in: verified, de-duplicated, acknowledged with a status the sender acts on."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ordergate.connectors.errors import UpstreamError, WebhookRejected
from ordergate.models.errors import DomainError, StoreBusy
from ordergate.usecases import audit, inventory, stock_notices, storefront, tracking
from ordergate.usecases.services import Services

log = logging.getLogger("ordergate.webhooks")
UPSTREAM = "upstream"  # the role an upstream's webhook acts in, in the audit trail


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _refused(rejected: WebhookRejected) -> Response:
    """Not ours to take: 404 when the upstream is not configured, 401 when the delivery does
    not prove where it comes from, 400 when it is malformed."""
    status = 404 if rejected.code == "NOT_CONFIGURED" else 401 if "SIGNATURE" in rejected.code else 400
    return _error(status, rejected.code, rejected.message)


def katana_endpoint(services: Services):  # type: ignore[no-untyped-def]
    async def katana(request: Request) -> Response:
        body = await request.body()  # bounded by the app's BodyLimit
        try:
            with audit.acting("katana", UPSTREAM, "webhook:katana"):
                outcome = await inventory.take_erp_webhook(services, body, request.headers)
        except WebhookRejected as rejected:
            return _refused(rejected)
        except UpstreamError as error:
            # Not acknowledged: the ERP retries the delivery later, so nothing is lost.
            log.warning("katana webhook not processed: %s", error)
            return _error(503, error.code, "the ERP could not be read; retry later")
        if outcome.skus:
            with audit.acting("katana", UPSTREAM, "webhook:katana"):
                await _allocate(services, outcome.skus)
        return JSONResponse(
            {"status": "duplicate" if outcome.duplicate else "processed", "skus": list(outcome.skus)}
        )

    return katana


async def _allocate(services: Services, skus: Sequence[str]) -> None:
    """Stock came in (a receipt, say), or a count found units gone that orders hold: what the
    notice's read is followed by (`stock_notices.act_on`). The notice is taken whatever happens
    here: the backorder loop does it again within its period."""
    try:
        await stock_notices.act_on(services, skus)
    except Exception:
        log.exception("acting on an ERP notice's stock failed; the backorder loop retries")


def carrier_endpoint(services: Services, name: str):  # type: ignore[no-untyped-def]
    """Tracking webhooks from a carrier: verified by its connector, applied once per scan."""

    async def carrier(request: Request) -> Response:
        body = await request.body()  # bounded by the app's BodyLimit
        connector = services.carriers.get(name)
        if connector is None:
            return _error(404, "NOT_CONFIGURED", f"no {name} carrier is configured")
        try:
            updates = connector.parse_webhook(body, request.headers)
        except WebhookRejected as rejected:
            return _refused(rejected)
        try:
            with audit.acting(name, UPSTREAM, f"webhook:{name}"):
                changed = await tracking.apply_updates(services, name, updates)
        except StoreBusy:
            return _error(503, StoreBusy.code, "the store is busy; retry later")
        except DomainError:  # ours to fix: not taken, so the carrier's retry brings it again
            log.exception("a %s tracking delivery was not taken", name)
            return _error(503, "NOT_TAKEN", "the delivery was not taken; retry later")
        return JSONResponse({"status": "processed", "updates": len(updates), "changed": changed})

    return carrier


def storefront_endpoint(services: Services):  # type: ignore[no-untyped-def]
    """BigCommerce's order webhooks: the secret header checked, the delivery kept durably
    (once per hash) before the 200, and imported by the relay."""

    async def bigcommerce(request: Request) -> Response:
        body = await request.body()  # bounded by the app's BodyLimit
        try:
            with audit.acting("bigcommerce", UPSTREAM, "webhook:bigcommerce"):
                intake = await storefront.take_webhook(services, dict(request.headers), body)
        except WebhookRejected as rejected:
            return _refused(rejected)
        return JSONResponse(
            {"status": "duplicate" if intake.duplicate else "accepted", "scope": intake.scope}
        )

    return bigcommerce
