"""Which phone a carrier gets for a node."""

from __future__ import annotations

import pytest

from ordergate.models.location import contact_phone
from tests.models.records import a_location


@pytest.mark.parametrize(
    ("node", "merchant", "expected"),
    [
        ("+1 972-555-0120", "+1 800-555-0100", "+1 972-555-0120"),
        (None, "+1 800-555-0100", "+1 800-555-0100"),
        ("  ", "+1 800-555-0100", "+1 800-555-0100"),
        (None, None, None),
    ],
)
def test_a_carrier_gets_the_node_s_phone_else_the_merchant_s(
    node: str | None, merchant: str | None, expected: str | None
) -> None:
    assert contact_phone(a_location("DC-DFW", phone=node), merchant) == expected
    assert contact_phone(None, merchant) == merchant
