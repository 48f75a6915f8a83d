from __future__ import annotations

import pytest

import ordergate.store.records  # noqa: F401
from ordergate.models.commands import MAX_LENGTH, Limits, LineRequest, check_lines
from ordergate.models.customer import Customer
from ordergate.models.order import Order

COLUMNS = {
    "channel": [Order.__table__.c.channel],  # type: ignore[attr-defined]
    "externalReference": [Order.__table__.c.external_reference],  # type: ignore[attr-defined]
    "name": [Order.__table__.c.ship_name],  # type: ignore[attr-defined]
    "line1": [Order.__table__.c.ship_line1],  # type: ignore[attr-defined]
    "line2": [Order.__table__.c.ship_line2],  # type: ignore[attr-defined]
    "city": [Order.__table__.c.ship_city],  # type: ignore[attr-defined]
    "region": [Order.__table__.c.ship_region],  # type: ignore[attr-defined]
    "postalCode": [Order.__table__.c.ship_postal_code],  # type: ignore[attr-defined]
    "phone": [Order.__table__.c.ship_phone, Customer.__table__.c.phone],  # type: ignore[attr-defined]
    "firstName": [Customer.__table__.c.first_name],  # type: ignore[attr-defined]
    "lastName": [Customer.__table__.c.last_name],  # type: ignore[attr-defined]
}


@pytest.mark.parametrize("field", sorted(MAX_LENGTH))
def test_input_limits_fit_the_columns_that_store_them(field: str) -> None:
    assert MAX_LENGTH[field] <= min(column.type.length for column in COLUMNS[field])


def test_too_many_lines_is_said_once_and_the_lines_past_the_cap_are_not_read() -> None:
    lines = tuple(LineRequest(sku="not a sku!", quantity=0) for _ in range(5_000))

    problems = check_lines(lines, Limits(max_line_quantity=999, max_lines=100), ("input",))

    assert [(p.code, p.field) for p in problems] == [("TOO_MANY_LINES", ("input", "lines"))]
