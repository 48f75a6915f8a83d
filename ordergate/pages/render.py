"""One Jinja2 environment for the pages: templates from the package, every value autoescaped,
an undefined name an error (not an empty string a customer would read)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ordergate.models.money import display


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
