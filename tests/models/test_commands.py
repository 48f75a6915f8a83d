from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from ordergate.models.commands import (
    MAX_LENGTH,
    SALE_LIMITS,
    SOLD_SKU,
    CustomerDetails,
    ExternalSale,
    Limits,
    LineRequest,
    address_gaps,
    check_lines,
    check_place_order,
    is_stand_in,
    over_limits,
    sale_email,
    sale_sku,
    shipping_gaps,
    unplaceable,
)
from ordergate.store.tables import customers, orders
from tests.models.records import a_place_order, an_address

COLUMNS = {
    "channel": [orders.c.channel],
    "external_reference": [orders.c.external_reference],
    "name": [orders.c.ship_name],
    "line1": [orders.c.ship_line1],
    "line2": [orders.c.ship_line2],
    "city": [orders.c.ship_city],
    "region": [orders.c.ship_region],
    "postal_code": [orders.c.ship_postal_code],
    "phone": [orders.c.ship_phone, customers.c.phone],
    "first_name": [customers.c.first_name],
    "last_name": [customers.c.last_name],
}


@pytest.mark.parametrize("field", sorted(MAX_LENGTH))
def test_input_limits_fit_the_columns_that_store_them(field: str) -> None:
    assert MAX_LENGTH[field] <= min(length(column) for column in COLUMNS[field])


def length(column: sa.Column[Any]) -> int:
    assert isinstance(column.type, sa.String)
    assert column.type.length is not None
    return column.type.length


def test_too_many_lines_is_said_once_and_the_lines_past_the_cap_are_not_read() -> None:
    lines = tuple(LineRequest(sku="not a sku!", quantity=0) for _ in range(5_000))

    problems = check_lines(lines, Limits(max_line_quantity=999, max_lines=100), ())

    assert [(p.code, p.field) for p in problems] == [("TOO_MANY_LINES", ("lines",))]


def test_a_missing_or_wrong_part_of_an_address_is_a_gap_a_kept_sale_may_have() -> None:
    command = a_place_order(
        shipping_address=an_address(line1="", city="", postal_code="not-a-zip"),
        billing_address=an_address(line1="", country_code="XX"),
        channel="",
    )

    problems = check_place_order(command, Limits(max_line_quantity=100, max_lines=10))
    gaps = address_gaps(problems)

    assert sorted(p.field or () for p in gaps) == [
        ("billing_address", "country_code"),
        ("billing_address", "line1"),
        ("shipping_address", "city"),
        ("shipping_address", "line1"),
        ("shipping_address", "postal_code"),
    ]
    # the rest of the order is not an address's gap
    assert [(p.code, p.field) for p in problems if p not in gaps] == [("REQUIRED", ("channel",))]


def test_a_shipping_address_s_gaps_are_the_parts_a_parcel_needs() -> None:
    assert shipping_gaps(an_address(line1="", city="", region="")) == ["line1", "city"]
    assert shipping_gaps(an_address(postal_code="ABCDE")) == ["postal_code"]
    assert shipping_gaps(an_address(country_code="XK")) == ["country_code"]  # Kosovo: not ISO 3166-1
    assert unplaceable(an_address(postal_code="ABCDE")) == ["postal_code"]
    assert unplaceable(an_address(country_code="", line1="")) == ["country_code"]
    assert unplaceable(an_address(line1="")) == []
    assert shipping_gaps(an_address()) == []
    assert shipping_gaps(None) == []


@pytest.mark.parametrize(
    ("sku", "ours", "sold"),
    [
        ("MUG-BLUE", True, True),
        ("MUG BLUE/2", False, True),  # a storefront's: a space and a slash
        ("Tasse à café #3", False, True),
        ("X" * 64, True, True),
        ("X" * 65, False, False),  # no column of ours holds it
        (" MUG", False, False),
        ("MUG ", False, False),
        ("MUG\tBLUE", False, False),
        ("", False, False),  # a custom product: no SKU at all
    ],
)
def test_a_sale_may_name_a_sku_of_the_storefront_s_that_no_order_of_ours_may(
    sku: str, ours: bool, sold: bool
) -> None:
    lines = (LineRequest(sku, 1),)
    limits = Limits(max_line_quantity=10, max_lines=10)

    assert (check_lines(lines, limits, ()) == []) is ours
    assert (check_lines(lines, limits, (), sold=True) == []) is sold


SALE = ExternalSale("bigcommerce", "108", (Decimal("12.00"),), Decimal(0), Decimal(0), Decimal(0), Decimal(0))


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("priya.patel@example.com", "priya.patel@example.com"),
        ("", "bigcommerce-108@no-email.invalid"),  # keyed in by the merchant with none
        ("sam at example dot com", "bigcommerce-108@no-email.invalid"),
        ("sam@", "bigcommerce-108@no-email.invalid"),
    ],
)
def test_a_sale_is_kept_under_the_shopper_s_address_or_else_a_stand_in_that_is_nobody_s(
    given: str, kept: str
) -> None:
    assert sale_email(given, "bigcommerce:108") == kept
    assert is_stand_in(kept) is (kept != given)


def test_only_a_storefront_s_sale_may_be_placed_under_a_stand_in_address() -> None:
    stand_in = CustomerDetails("bigcommerce-108@no-email.invalid", "Sam", "Guest")

    ours = check_place_order(a_place_order(customer=stand_in), Limits(max_line_quantity=10, max_lines=10))
    sold = check_place_order(
        a_place_order(customer=stand_in, sale=SALE), Limits(max_line_quantity=10, max_lines=10)
    )

    assert [(p.code, p.field) for p in ours] == [("INVALID_EMAIL", ("customer", "email"))]
    assert sold == []


@pytest.mark.parametrize(
    ("sku", "kept"),
    [
        ("MUG-BLUE", "MUG-BLUE"),
        ("MUG BLUE/2", "MUG BLUE/2"),  # no SKU of ours, but one a column holds: kept as it is
        ("", "(no SKU) 7"),
        ("ENGRAVING-" + "X" * 60, "(SKU ENGRAVING-" + "X" * 30 + "...) 7"),
        ("TAB\tBED", "(SKU TAB?BED...) 7"),
    ],
)
def test_a_sale_s_line_is_kept_under_its_sku_or_a_stand_in_no_sku_of_ours_can_be(sku: str, kept: str) -> None:
    assert sale_sku(sku, 7) == kept
    assert SOLD_SKU.fullmatch(sale_sku(sku, 7))


def test_a_sale_past_the_gateways_limits_is_taken_in_and_told_apart_up_to_the_sale_limits() -> None:
    limits = Limits(max_line_quantity=10, max_lines=2)
    large = (LineRequest("MUG-BLUE", 11), LineRequest("LAMP-DESK", 1), LineRequest("KETTLE-STEEL", 12))
    past = tuple(LineRequest(f"SKU-{n}", 1) for n in range(SALE_LIMITS.max_lines + 1))

    ours = {p.code for p in check_lines(large, limits, ())}
    sold = check_lines(large, limits, (), sold=True)
    far = {
        p.code
        for p in check_lines(
            (LineRequest("MUG-BLUE", SALE_LIMITS.max_line_quantity + 1),), limits, (), sold=True
        )
    }

    assert ours == {"TOO_MANY_LINES"}
    assert sold == []  # a sale: kept, and held for these
    assert [(p.code, p.field) for p in over_limits(large, limits)] == [
        ("TOO_MANY_LINES", ("lines",)),
        ("INVALID_QUANTITY", ("lines", "0", "quantity")),
        ("INVALID_QUANTITY", ("lines", "2", "quantity")),
    ]
    assert "KETTLE-STEEL: 12 units, more than the 10" in over_limits(large, limits)[2].message
    assert [p.code for p in over_limits(large, limits, shown=1)] == ["TOO_MANY_LINES", "INVALID_QUANTITY"]
    assert over_limits(large[1:2], limits) == []
    assert far == {"INVALID_QUANTITY"}  # past the sale limits, refused as any command is
    assert {p.code for p in check_lines(past, limits, (), sold=True)} == {"TOO_MANY_LINES"}
