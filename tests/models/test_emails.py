"""What each email tells the customer, in text and HTML, and which events send which email."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ordergate.models.emails import (
    KIND_OF_EVENT,
    EmailKind,
    Item,
    MessageFacts,
    Parcel,
    Pickup,
    Refund,
    ReturnLabel,
    email_kind,
    is_essential,
    locales,
    message_id,
    valid_locale,
)
from ordergate.models.events import EventType
from ordergate.models.order_status import pickup_until
from ordergate.usecases.email_templates import render
from ordergate.usecases.services import DEMO_SENDER

STATUS = "https://shop.example/orders/OG-1042?t=abc&x=1"
TRACKING = "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111"


def facts(kind: EmailKind, **changes: object) -> MessageFacts:
    base = MessageFacts(
        kind=kind,
        order_number="OG-1042",
        customer_name="Ann",
        status_url=STATUS,
        sender=DEMO_SENDER,
        occurred_at=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
        currency="USD",
        total=Decimal("1234.50"),
        items=(Item(name="Blue mug", sku="MUG-BLUE", quantity=2),),
        promised_on=date(2026, 12, 9),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


EXPECTED: list[tuple[MessageFacts, str, list[str]]] = [
    (
        facts(EmailKind.ORDER_CONFIRMED),
        "Your order OG-1042 is confirmed",
        ["2 x Blue mug", "Total: $1,234.50", "Expected by Wednesday 09 December 2026"],
    ),
    (
        facts(
            EmailKind.BACKORDERED,
            items=(Item(name="Chef knife", sku="KNIFE", quantity=1, promised_on=date(2027, 1, 15)),),
        ),
        "Part of your order OG-1042 is on its way to us",
        ["1 x Chef knife: expected Friday 15 January 2027"],
    ),
    (
        facts(EmailKind.DELAYED, promised_on=date(2026, 12, 18), promised_before=date(2026, 12, 11)),
        "Your order OG-1042 will arrive later than we said",
        ["It is now expected by Friday 18 December 2026, not Friday 11 December 2026."],
    ),
    (
        facts(EmailKind.SHIPPED, parcel=Parcel("stamps_com", "9400111", TRACKING, date(2026, 12, 8))),
        "Your order OG-1042 has shipped",
        [
            "Carrier: stamps_com",
            "Tracking number: 9400111",
            f"Track your parcel: {TRACKING}",
            "Tuesday 08 December",
        ],
    ),
    (
        facts(EmailKind.DELIVERED, parcel=Parcel("ups", "1Z999", None)),
        "Your parcel for order OG-1042 was delivered",
        ["ups says your parcel 1Z999 was delivered", "you did not opt out"],
    ),
    (
        facts(
            EmailKind.READY_FOR_PICKUP,
            pickup=Pickup(
                "Austin store", "500 Congress Ave, 78701, Austin", "+1 512-555-0100", date(2026, 12, 11)
            ),
        ),
        "Your order OG-1042 is ready for pickup",
        [
            "Where: Austin store, 500 Congress Ave, 78701, Austin (phone +1 512-555-0100)",
            "Until: Friday 11 December 2026",
        ],
    ),
    (
        facts(
            EmailKind.PICKED_UP, pickup=Pickup("Austin store", "500 Congress Ave", None, date(2026, 12, 11))
        ),
        "Thank you for collecting order OG-1042",
        ["You collected your order OG-1042 at Austin store"],
    ),
    (
        facts(EmailKind.CANCELLED, reason="INVENTORY", whole=True),
        "Your order OG-1042 was cancelled",
        ["because we no longer have the items in stock:", "2 x Blue mug", "You will not be charged"],
    ),
    (
        facts(EmailKind.CANCELLED, reason="CUSTOMER", total=Decimal("20.00")),
        "Items of your order OG-1042 were cancelled",
        ["because you asked us to:", "Your order total is now $20.00"],
    ),
    (
        facts(EmailKind.RETURN_APPROVED, label=ReturnLabel("ups", "1ZRET", "https://labels.example/ret.pdf")),
        "Your return for order OG-1042 is approved",
        ["Print your return label: https://labels.example/ret.pdf", "Return tracking number: 1ZRET"],
    ),
    (
        facts(EmailKind.RETURN_APPROVED, label=ReturnLabel(None, None, None)),
        "Your return for order OG-1042 is approved",
        ["Your prepaid return label follows in a separate email."],
    ),
    (
        facts(EmailKind.RETURN_LABEL, label=ReturnLabel("ups", "1ZRET", "https://labels.example/ret.pdf")),
        "Your return label for order OG-1042",
        ["Print it: https://labels.example/ret.pdf"],
    ),
    (
        facts(
            EmailKind.RETURN_LABEL,
            label=ReturnLabel("ups", "1ZRET", "https://labels.example/ret.pdf", send_by=date(2026, 12, 17)),
        ),
        "Your return label for order OG-1042",
        ["hand it to the carrier by Thursday 17 December 2026: after that the label no longer works."],
    ),
    (
        facts(
            EmailKind.RETURN_APPROVED,
            label=ReturnLabel("ups", "1ZRET", "https://labels.example/ret.pdf", send_by=date(2026, 12, 17)),
        ),
        "Your return for order OG-1042 is approved",
        ["Send it by Thursday 17 December 2026: after that the label no longer works."],
    ),
    (
        facts(EmailKind.RETURN_EXPIRED, label=ReturnLabel("ups", "1ZRET", "https://labels.example/ret.pdf")),
        "Your return for order OG-1042 has expired",
        ["did not reach the carrier in time", "ask for a new return", "2 x Blue mug"],
    ),
    (
        facts(EmailKind.REFUNDED, refund=Refund(Decimal("45.90"), "USD", "stripe")),
        "We refunded $45.90 for order OG-1042",
        ["We refunded $45.90 to your original payment method (stripe)"],
    ),
]


@pytest.mark.parametrize(("given", "subject", "said"), EXPECTED, ids=lambda v: getattr(v, "kind", None))
def test_each_email_tells_the_customer_what_happened(
    given: MessageFacts, subject: str, said: list[str]
) -> None:
    rendered_subject, text, html = render(given, None)

    assert rendered_subject == subject
    for phrase in said:
        assert phrase in text
    assert f"See your order OG-1042 at any time:\n{STATUS}" in text
    assert DEMO_SENDER.postal_address in text
    assert f"<title>{subject}</title>" in html
    assert 'href="https://shop.example/orders/OG-1042?t=abc&amp;x=1"' in html


def test_every_kind_of_email_has_a_template_and_a_case_above() -> None:
    assert {given.kind for given, _, _ in EXPECTED} == set(EmailKind)


def test_the_html_escapes_what_customers_and_carriers_wrote_and_the_text_keeps_it() -> None:
    given = facts(
        EmailKind.SHIPPED,
        customer_name="<script>x</script>",
        items=(Item(name='Mug "A&B"', sku="M", quantity=1),),
        parcel=Parcel("ups", "<b>1Z</b>", None),
    )

    _, text, html = render(given, None)

    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "Mug &#34;A&amp;B&#34;" in html
    assert "&lt;b&gt;1Z&lt;/b&gt;" in html
    assert "Hello <script>x</script>," in text
    assert 'Mug "A&B"' in text


def test_a_locale_with_templates_is_used_and_one_without_falls_back_to_english() -> None:
    french, _, html = render(facts(EmailKind.ORDER_CONFIRMED), "fr-CA")
    english, _, _ = render(facts(EmailKind.REFUNDED, refund=Refund(Decimal("5"), "EUR", "")), "fr")

    assert french == "Votre commande OG-1042 est confirmée"
    assert '<html lang="fr">' in html
    assert english == "We refunded €5.00 for order OG-1042"
    assert locales("fr-CA") == ["fr-ca", "fr", "en"]
    assert locales(None) == ["en"]


def test_a_delay_is_told_in_french_with_both_days() -> None:
    given = facts(EmailKind.DELAYED, promised_on=date(2026, 12, 18), promised_before=date(2026, 12, 11))

    subject, text, html = render(given, "fr")

    assert subject == "Votre commande OG-1042 arrivera plus tard que prévu"
    assert "Livraison désormais prévue le 18/12/2026, au lieu du 11/12/2026." in text
    assert "au lieu du 11/12/2026" in html


def test_only_delivered_and_picked_up_are_non_essential() -> None:
    assert {kind for kind in EmailKind if not is_essential(kind)} == {
        EmailKind.DELIVERED,
        EmailKind.PICKED_UP,
    }
    assert email_kind(EventType.ORDER_PLACED) is None
    assert email_kind(EventType.RETURN_REFUNDED) is None  # its PAYMENT_REFUNDED sends
    assert email_kind("NOT_AN_EVENT") is None
    assert set(KIND_OF_EVENT.values()) == set(EmailKind)


def test_the_message_id_is_the_events_at_the_senders_domain() -> None:
    assert (
        message_id("e-1", EmailKind.SHIPPED, "Orders <orders@shop.example>") == "<e-1.shipped@shop.example>"
    )


def test_a_pickup_is_kept_a_week() -> None:
    assert pickup_until(datetime(2026, 12, 4, 23, 0, tzinfo=UTC)) == date(2026, 12, 11)  # models.order_status


@pytest.mark.parametrize(
    ("tag", "valid"),
    [("en", True), ("fr-CA", True), ("zh-Hant-TW", True), ("", False), ("<fr>", False), ("e", False)],
)
def test_a_locale_is_a_language_tag(tag: str, valid: bool) -> None:
    assert valid_locale(tag) is valid
