"""The agents' dashboard: `/dashboard`, server-rendered like the status page.

Signing in takes a staff token (`ordergate token --role agent`) once, through a form, and keeps it
in an HttpOnly, SameSite=Strict cookie scoped to `/dashboard`, good as long as the token is; every
request checks it again, so an expired or revoked key (a rotated secret) signs everyone out. Only
callers who read every order and the audit trail (agents, admins) get in. The pages only read:
the network's figures of the last 30 days, stock a count left short with the work holding it, the
order search, and one order's timeline with its notes, tags and audit trail; changes are made
through the API, where they are audited.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ordergate.auth import verify_token
from ordergate.models.criteria import OrderCriteria
from ordergate.models.errors import DomainError, NotFound
from ordergate.models.events import customer_message
from ordergate.models.identity import Permission, Principal
from ordergate.models.metrics import MetricsGroup
from ordergate.models.notes import TargetKind
from ordergate.models.order import OrderStatus
from ordergate.models.pagination import Page
from ordergate.models.short_spells import ShortOrder
from ordergate.pages import charts
from ordergate.pages.render import HEADERS, form, page
from ordergate.settings import Settings
from ordergate.usecases import audit, metrics, orders, reads, short_positions
from ordergate.usecases.services import Services
from ordergate.usecases.short_positions import ShortPosition

COOKIE = "og_staff"
PATH = "/dashboard"
PAGE_SIZE = 50
SHORT_SHOWN = 20  # positions; the API's shortPositions pages through the rest


class Dashboard:
    def __init__(self, settings: Settings, services: Services) -> None:
        self.settings = settings
        self.services = services

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.home, methods=["GET"]),
            Route(f"{PATH}/session", self.sign_in, methods=["POST"]),
            Route(f"{PATH}/session/end", self.sign_out, methods=["POST"]),
            Route(f"{PATH}/orders/{{order_id}}", self.order, methods=["GET"]),
        ]

    def _staff(self, request: Request) -> Principal | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        try:
            principal = verify_token(self.settings, token)
        except DomainError:
            return None
        return principal if _may_enter(principal) else None

    async def sign_in(self, request: Request) -> Response:
        token = form(await request.body()).get("token", "").strip()
        try:
            principal = verify_token(self.settings, token)
        except DomainError as error:
            return page(
                "dashboard/signin.html", 401, problem=f"That token was not accepted: {error.message}."
            )
        if not _may_enter(principal):
            return page("dashboard/signin.html", 403, problem="The dashboard is for agents and admins.")
        response = RedirectResponse(PATH, status_code=303, headers=HEADERS)
        response.set_cookie(
            COOKIE,
            token,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=self.settings.token_ttl_seconds,
        )
        return response

    async def sign_out(self, _: Request) -> Response:
        response = RedirectResponse(PATH, status_code=303, headers=HEADERS)
        response.delete_cookie(COOKIE, path=PATH)
        return response

    async def home(self, request: Request) -> Response:
        principal = self._staff(request)
        if principal is None:
            return page("dashboard/signin.html", problem=None)
        text = request.query_params.get("q", "").strip()[:254]
        wanted = request.query_params.get("status", "")
        statuses = (OrderStatus(wanted),) if wanted in OrderStatus.__members__ else ()
        criteria = OrderCriteria(text=text or None, statuses=statuses)
        found = await orders.orders(self.services, principal, criteria, PAGE_SIZE, None)
        short, numbers = await self.short_stock(principal)
        return page(
            "dashboard/home.html",
            principal=principal,
            query=text,
            status=wanted,
            statuses=[s.value for s in OrderStatus],
            found=found,
            figures=await self.figures(principal),
            short=short,
            numbers=numbers,
        )

    async def short_stock(self, principal: Principal) -> tuple[Page[ShortPosition], dict[str, str]]:
        """Positions a count left short (`shortPositions`), the longest short first, with the
        numbers of the orders there."""
        short = await short_positions.short_positions(
            self.services, principal, None, SHORT_SHOWN, None, ShortOrder.LONGEST_SHORT
        )
        ids = sorted({h.work.order_id for position in short.items for h in position.holders})
        found = await reads.orders_by_ids(self.services, ids)
        return short, {o.id: o.number for o in found if o is not None}

    async def figures(self, principal: Principal) -> list[charts.Card]:
        """The network's figures for the last 30 days (UTC), with a line per day where it helps."""
        start, end = charts.last_days(self.services.clock().date())
        found = await metrics.network_metrics(self.services, principal, start, end, MetricsGroup.DAY)
        return charts.figures(found, self.services.policy.currency)

    async def order(self, request: Request) -> Response:
        principal = self._staff(request)
        if principal is None:
            return RedirectResponse(PATH, status_code=303, headers=HEADERS)
        order_id = request.path_params["order_id"]
        try:
            record = await orders.order(self.services, principal, order_id)
        except NotFound:
            return page("dashboard/missing.html", 404)
        trail = await audit.audit_trail(self.services, principal, order_id=order_id, first=200)
        [events] = await reads.events_by_order_ids(self.services, [order_id])
        [notes] = await reads.notes_by_targets(self.services, [reads.target_key(TargetKind.ORDER, order_id)])
        [tags] = await reads.tags_by_targets(self.services, [reads.target_key(TargetKind.ORDER, order_id)])
        timeline: list[tuple[datetime, str, str]] = [
            (e.occurred_at, e.type, customer_message(e.type)) for e in events
        ]
        timeline += [(n.created_at, "STAFF_NOTE", f"{n.author}: {n.body}") for n in notes]
        timeline.sort(key=lambda entry: entry[0])
        return page(
            "dashboard/order.html",
            principal=principal,
            order=record,
            timeline=timeline,
            tags=[t.tag for t in tags],
            trail=list(reversed(trail.items)),
        )


def _may_enter(principal: Principal) -> bool:
    return all(
        principal.can(p) for p in (Permission.READ_ALL_ORDERS, Permission.READ_AUDIT, Permission.READ_METRICS)
    )
