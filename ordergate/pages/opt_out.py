"""The page an email's opt-out link opens: `GET /email/opt-out/<customer id>?t=<token>` asks the
customer to confirm (a link scanner that follows it changes nothing), and a POST to the same
address opts them out of non-essential email, as a mail client's one-click unsubscribe (RFC
8058: `List-Unsubscribe-Post`) does. A wrong or missing token is a plain 404."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ordergate.models.errors import NotFound
from ordergate.models.links import OPT_OUT_PATH
from ordergate.pages.render import page
from ordergate.usecases import emails
from ordergate.usecases.services import Services

TEMPLATE = "email_preferences/opt_out.html"


def opt_out_routes(services: Services) -> list[Route]:
    async def opt_out(request: Request) -> Response:
        customer_id, token = str(request.path_params["customer_id"]), request.query_params.get("t", "")
        merchant = services.email_sender.name
        if request.method == "POST":
            try:
                customer = await emails.opt_out_by_link(services, customer_id, token)
            except NotFound:
                return page(TEMPLATE, 404, merchant=merchant, found=False, done=False)
            return page(TEMPLATE, merchant=merchant, found=True, done=True, email=customer.email)
        email = await emails.opt_out_email(services, customer_id, token)
        if email is None:
            return page(TEMPLATE, 404, merchant=merchant, found=False, done=False)
        return page(TEMPLATE, merchant=merchant, found=True, done=False, email=email)

    return [Route(OPT_OUT_PATH + "/{customer_id}", opt_out, methods=["GET", "POST"])]
