from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from ordergate.models.commands import MAX_LENGTH, Limits, LineRequest, check_lines
from ordergate.store.tables import customers, orders

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
