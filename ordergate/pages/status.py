"""The order status page: `GET /orders/<number>?t=<token>`, the link in every customer email.

- `/orders` asks for an order number and the email address it was placed with, and sends the
  customer on to the signed link (lookups are metered per address: ten at once, then one every
  six seconds, so the form is no way to try emails against numbers).
- `/orders/<number>?t=...` is the page: server-rendered, no framework, assets served from the
  package; it works without its script, which only keeps it current (below) and shows times in
  the reader's zone.
- `/orders/<number>/live?t=...` is a server-sent event stream of the page's main panel,
  rendered again after each change to the order (the order's event feed, as its customer's
  subscription would follow it), with a comment every 15 s to keep proxies from closing it.
- `POST /orders/<number>/returns?t=...` starts a return as the customer would through
  `requestReturn`, with the same rules; the form carries an idempotency key, so a double click
  asks once.

Every answer is `no-store`, sends no Referer (the token is in the URL, and tracking links lead
to the carriers' sites) and runs under a CSP that admits only this origin's script and style.
A link that is not one we made, an unknown number and a wrong email all answer the same 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ordergate.models.budget import Budget
from ordergate.models.commands import ReturnLineRequest
from ordergate.models.errors import DomainError, NotFound, Problem, ResumeRequired
from ordergate.models.order import Order
from ordergate.models.order_status import STAGE_TEXT
from ordergate.pages import render
from ordergate.pages.render import ASSETS, HEADERS
from ordergate.usecases import audit, status_page
from ordergate.usecases.services import Services

LOOKUP_COST, LOOKUP_CAPACITY = 6, 60  # ten lookups at once, then one every six seconds
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 600.0  # then the browser reconnects (EventSource does), on whichever replica
MAX_STREAMS = 2000  # per process: beyond it a stream is refused and the page stays as loaded
REASONS = ("Doesn't fit", "Damaged or faulty", "Not as described", "Changed my mind", "Other")


def _missing(status: int = 404, message: str | None = None) -> HTMLResponse:
    text = message or "We couldn't find that order. Check the link in your email, or look it up below."
    return render.page("status/lookup.html", status, problem=text, number="", email="")


def _same_origin(request: Request) -> bool:
    """A form posted from another site is refused (the token is secret, but be strict anyway):
    by the browser's Sec-Fetch-Site where it sends one, else by Origin. Under this page's
    no-referrer policy a browser sends `Origin: null` for its own forms, so null is let through;
    the token still has to be right."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


class StatusPages:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.lookups = Budget(LOOKUP_CAPACITY, 1)
        self.streams = 0

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/orders", self.lookup_form, methods=["GET"]),
            Route("/orders", self.lookup, methods=["POST"]),
            Route("/orders/{number}", self.page, methods=["GET"]),
            Route("/orders/{number}/live", self.live, methods=["GET"]),
            Route("/orders/{number}/returns", self.start_return, methods=["POST"]),
            Mount(ASSETS, StaticFiles(packages=[("ordergate", "static")]), name="orders-assets"),
        ]

    async def lookup_form(self, _: Request) -> Response:
        return render.page("status/lookup.html", problem=None, number="", email="")

    async def lookup(self, request: Request) -> Response:
        fields = render.form(await request.body())
        number, email = fields.get("number", ""), fields.get("email", "")
        client = request.client.host if request.client else "unknown"
        now = self.services.clock().timestamp()
        if not self.lookups.reserve(client, LOOKUP_COST, now).granted:
            response = _missing(429, "Too many lookups from here. Please wait a minute and try again.")
            response.headers["Retry-After"] = "60"
            return response
        try:
            order = await status_page.by_email(self.services, number, email)
        except NotFound:
            problem = "No order has that number and email address. Check both, as they are in your email."
            return render.page(
                "status/lookup.html", 404, problem=problem, number=number[:32], email=email[:254]
            )
        return RedirectResponse(self.services.links.path(order.number), status_code=303, headers=HEADERS)

    async def _order(self, request: Request) -> Order:
        number = request.path_params["number"]
        return await status_page.by_link(self.services, number, request.query_params.get("t", ""))

    async def page(self, request: Request) -> Response:
        try:
            order = await self._order(request)
        except NotFound:
            return _missing()
        notice = (
            "We have your return request. We'll email you when it's approved."
            if "returned" in request.query_params
            else None
        )
        return render.page("status/page.html", **await self._values(order, notice=notice))

    async def _values(self, order: Order, **extra: Any) -> dict[str, Any]:
        """What the page and its panel show of the order as it is now."""
        view = await status_page.status_page(self.services, order.id)
        links = self.services.links
        return {
            "view": view,
            "text": STAGE_TEXT[view.stage],
            "here": links.path(order.number),
            "token": links.token(order.number),
            "reasons": REASONS,
            "return_key": uuid.uuid4().hex,
            "notice": None,
            "problems": [],
        } | extra

    async def start_return(self, request: Request) -> Response:
        try:
            order = await self._order(request)
        except NotFound:
            return _missing()
        if not _same_origin(request):
            return _missing(403, "That form did not come from this page.")
        fields = render.form(await request.body())
        reason = fields.get("reason", "").strip()
        lines = [
            ReturnLineRequest(line_id=name.removeprefix("qty-"), quantity=_count(value), reason=reason)
            for name, value in fields.items()
            if name.startswith("qty-") and value.strip() not in ("", "0")
        ]
        if not lines:
            problems = [Problem("REQUIRED", "Choose how many of which item to return.", ("lines",))]
            return render.page("status/page.html", 422, **await self._values(order, problems=problems))
        try:
            with audit.acting(order.email, "customer", "statusPage:requestReturn"):
                await status_page.start_return(self.services, order, lines, fields.get("key") or None)
        except DomainError as error:
            return render.page("status/page.html", 422, **await self._values(order, problems=error.problems))
        return RedirectResponse(
            f"{self.services.links.path(order.number)}&returned=1", status_code=303, headers=HEADERS
        )

    async def live(self, request: Request) -> Response:
        try:
            order = await self._order(request)
        except NotFound:
            return Response("no such order", status_code=404, headers=HEADERS)
        if self.streams >= MAX_STREAMS:
            return Response("too many live pages; this one stays as loaded", status_code=503, headers=HEADERS)
        headers = HEADERS | {"X-Accel-Buffering": "no"}
        return StreamingResponse(self._stream(order), media_type="text/event-stream", headers=headers)

    async def _stream(self, order: Order) -> AsyncGenerator[bytes, None]:
        """The panel again after each change; changes that arrive while one renders fold into
        the next render. Ends after STREAM_SECONDS (the browser reconnects) or when the client goes."""
        self.streams += 1
        changed: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        pump = asyncio.create_task(self._follow(order, changed), name="status-page-follow")
        try:
            yield b"retry: 3000\n\n"
            loop = asyncio.get_running_loop()
            ends = loop.time() + STREAM_SECONDS
            while loop.time() < ends:
                try:
                    async with asyncio.timeout(HEARTBEAT_SECONDS):
                        await changed.get()
                except TimeoutError:
                    yield b": still here\n\n"
                    continue
                panel = render.environment().get_template("status/panel.html")
                yield _event("update", panel.render(assets=ASSETS, **await self._values(order)))
        finally:
            self.streams -= 1
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _follow(self, order: Order, changed: asyncio.Queue[None]) -> None:
        while True:
            with contextlib.suppress(ResumeRequired):  # fell behind: render afresh all the same
                async for _ in status_page.changes(self.services, order):
                    if changed.empty():
                        changed.put_nowait(None)
            if changed.empty():
                changed.put_nowait(None)


def _count(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 0  # plan_return says INVALID_QUANTITY


def _event(name: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.splitlines())
    return f"event: {name}\n{lines}\n".encode()
