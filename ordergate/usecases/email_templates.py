"""Emails rendered from Jinja2 templates (`ordergate/templates/email/<locale>/<kind>.txt` and
`.html`), per locale: the order's own (`fr-CA`, then `fr`), else English. Each kind's template
extends its locale's layout and gives its subject in a `subject` block; the HTML is
autoescaped, the text is not (it is never read as markup)."""

from __future__ import annotations

from decimal import Decimal

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, TemplateNotFound, select_autoescape

from ordergate.models.emails import MessageFacts, is_essential, locales
from ordergate.models.money import display

ENVIRONMENT = Environment(
    loader=PackageLoader("ordergate", "templates/email"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _pick(kind: str, wanted: str | None, extension: str) -> tuple[Template, str]:
    for locale in locales(wanted):
        try:
            return ENVIRONMENT.get_template(f"{locale}/{kind}.{extension}"), locale
        except TemplateNotFound:
            continue
    raise TemplateNotFound(f"{kind}.{extension}")


def render(facts: MessageFacts, locale: str | None) -> tuple[str, str, str]:
    """(subject, text, html) of one message, in the best locale there are templates for."""
    text_template, chosen = _pick(facts.kind.value, locale, "txt")
    html_template, _ = _pick(facts.kind.value, chosen, "html")

    def money(amount: Decimal, currency: str | None = None) -> str:
        return display(amount, currency or facts.currency)

    values = {"f": facts, "money": money, "essential": is_essential(facts.kind), "locale": chosen}
    subject = "".join(text_template.blocks["subject"](text_template.new_context(values))).strip()
    return (
        " ".join(subject.split()),
        text_template.render(values).strip() + "\n",
        html_template.render(values),
    )
