"""What every page shares: one Jinja2 environment (templates from the package, every value
autoescaped, an undefined name an error rather than an empty string a reader would see), the
headers every answer carries, and reading a posted form."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from ordergate.models.money import display

ASSETS = "/orders-assets"  # the pages' script, style and icon, served from the package
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
MAX_FORM_FIELDS = 200


def page(template: str, code: int = 200, **values: object) -> HTMLResponse:
    """A template rendered as a page answering `code`, with every page's headers."""
    body = environment().get_template(template).render(assets=ASSETS, **values)
    return HTMLResponse(body, status_code=code, headers=HEADERS)


def form(body: bytes) -> dict[str, str]:
    """An urlencoded form's fields, the first value of each (the body is bounded by BodyLimit)."""
    try:
        fields = parse_qs(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:  # more fields than any of our forms has: read as none, refused as incomplete
        return {}
    return {name: values[0] for name, values in fields.items()}


def day(value: date | datetime) -> str:
    """`Fri, Dec 4`: the day a customer plans around."""
    return f"{value:%a, %b} {value.day}"


def moment(value: datetime) -> str:
    """`Dec 4, 14:05 UTC`; the page's script shows it in the reader's own zone."""
    return f"{value:%b} {value.day}, {value:%H:%M} UTC"


def words(value: str) -> str:
    """An enum's name as a customer reads it: OUT_FOR_DELIVERY -> Out for delivery."""
    return value.replace("_", " ").capitalize()


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ordergate", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=display, day=day, moment=moment, words=words)
    return env
