"""The page an email's opt-out link opens: `GET /email/opt-out/<customer id>?t=<token>` asks the
customer to confirm (a link scanner that follows it changes nothing), and a POST to the same
address opts them out of non-essential email, as a mail client's one-click unsubscribe (RFC
8058: `List-Unsubscribe-Post`) does. A wrong or missing token is a plain 404."""

from __future__ import annotations

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ordergate.models.errors import NotFound
from ordergate.models.links import OPT_OUT_PATH
from ordergate.usecases import emails
from ordergate.usecases.services import Services

POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
_JINJA = Environment(autoescape=True)
PAGE = _JINJA.from_string(
    "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
    'content="width=device-width, initial-scale=1"><title>{{ merchant }}: email updates</title>'
    "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32em;margin:3em auto;padding:0 1em}"
    "button{font:inherit;padding:.5em 1.2em}</style></head><body><h1>{{ merchant }}</h1>"
    "{% if done %}<p>Done: {{ email }} will no longer get order updates such as delivery notices. "
    "Messages you need about your orders (confirmation, shipping, pickup, cancellation, returns "
    "and refunds) still come.</p>"
    "{% elif found %}<p>Stop order updates such as delivery notices to {{ email }}? Messages you need "
    "about your orders still come.</p><form method=post><button type=submit>Stop these updates"
    "</button></form>"
    "{% else %}<p>This link is not one we sent, or it was cut short: copy the whole link from the "
    "email.</p>{% endif %}</body></html>"
)


def opt_out_routes(services: Services) -> list[Route]:
    async def opt_out(request: Request) -> Response:
        customer_id, token = str(request.path_params["customer_id"]), request.query_params.get("t", "")
        merchant = services.email_sender.name
        if request.method == "POST":
            try:
                customer = await emails.opt_out_by_link(services, customer_id, token)
            except NotFound:
                return _page(PAGE.render(merchant=merchant, found=False), 404)
            return _page(PAGE.render(merchant=merchant, done=True, email=customer.email))
        email = await emails.opt_out_email(services, customer_id, token)
        if email is None:
            return _page(PAGE.render(merchant=merchant, found=False), 404)
        return _page(PAGE.render(merchant=merchant, found=True, email=email))

    return [Route(OPT_OUT_PATH + "/{customer_id}", opt_out, methods=["GET", "POST"])]


def _page(body: str, status_code: int = 200) -> Response:
    headers = {
        "Content-Security-Policy": POLICY,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(body, status_code=status_code, headers=headers)
