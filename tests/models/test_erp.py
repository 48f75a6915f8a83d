"""Where a location's units go among its sales orders at the ERP: closed ones keep what they
hold, the open one (or the next continuation) takes the rest."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordergate.models.erp import HeldSalesOrder, continuation_key, discount_shares, plan_sales_orders
from tests.models.records import a_fulfillment_line, an_order_line

KEY = "OG-1001-DC-DFW"


def held(key: str, closed: bool, **units: int) -> tuple[str, HeldSalesOrder]:
    return key, HeldSalesOrder(
        key=key, units={sku.replace("_", "-"): n for sku, n in units.items()}, closed=closed
    )


@pytest.mark.parametrize(
    ("chain", "wanted", "key", "quantities", "emptied"),
    [
        # not at the ERP yet: the first sales order takes everything
        ([(KEY, None)], [("MUG", 3)], KEY, (3,), ()),
        # open: it holds everything wanted now
        ([held(KEY, False, MUG=2)], [("MUG", 5)], KEY, (5,), ()),
        # delivered with 2: the 3 more go to a second sales order
        ([held(KEY, True, MUG=2)], [("MUG", 5)], f"{KEY}-2", (3,), ()),
        # the second, open, is amended to what the first does not hold (units cancelled)
        ([held(KEY, True, MUG=2), held(f"{KEY}-2", False, MUG=3)], [("MUG", 4)], f"{KEY}-2", (2,), ()),
        # both closed: a third
        ([held(KEY, True, MUG=2), held(f"{KEY}-2", True, MUG=3)], [("MUG", 6)], f"{KEY}-3", (1,), ()),
        # a closed surplus (units cancelled after it closed) is used before anything new
        ([held(KEY, True, MUG=4)], [("MUG", 3), ("PLATE", 1)], f"{KEY}-2", (0, 1), ()),
        # lines of one SKU take the closed units first line first
        ([held(KEY, True, MUG=3)], [("MUG", 2), ("MUG", 2)], f"{KEY}-2", (0, 1), ()),
        # a second open one (reopened at the ERP) is emptied
        ([held(KEY, False, MUG=1), held(f"{KEY}-2", False, MUG=1)], [("MUG", 2)], KEY, (2,), (f"{KEY}-2",)),
        # deleted at the ERP: its key is used again
        ([held(KEY, True, MUG=2), (f"{KEY}-2", None)], [("MUG", 3)], f"{KEY}-2", (1,), ()),
    ],
)
def test_closed_sales_orders_keep_their_units_and_the_open_one_takes_the_rest(
    chain: list[tuple[str, HeldSalesOrder | None]],
    wanted: list[tuple[str, int]],
    key: str,
    quantities: tuple[int, ...],
    emptied: tuple[str, ...],
) -> None:
    plan = plan_sales_orders(KEY, chain, wanted)

    assert (plan.key, plan.quantities, plan.emptied) == (key, quantities, emptied)
    assert plan_sales_orders(KEY, chain, wanted) == plan  # a retry picks the same


@pytest.mark.parametrize(
    ("chain", "wanted", "surplus"),
    [
        ([held(KEY, False, MUG=4)], [("MUG", 1)], ()),  # open: reduced, nothing kept
        ([held(KEY, True, MUG=2)], [("MUG", 5)], ()),  # closed, every unit still wanted
        ([held(KEY, True, MUG=4)], [("MUG", 3), ("PLATE", 1)], (("MUG", 1),)),
        ([held(KEY, True, MUG=1, KETTLE=1)], [("MUG", 1)], (("KETTLE", 1),)),  # a line cancelled whole
        ([held(KEY, True, MUG=2), held(f"{KEY}-2", True, MUG=3)], [("MUG", 1)], (("MUG", 4),)),
        ([held(KEY, True, MUG=2, KETTLE=1)], [], (("KETTLE", 1), ("MUG", 2))),
    ],
)
def test_what_closed_sales_orders_hold_beyond_what_is_wanted_is_their_surplus(
    chain: list[tuple[str, HeldSalesOrder | None]],
    wanted: list[tuple[str, int]],
    surplus: tuple[tuple[str, int], ...],
) -> None:
    assert plan_sales_orders(KEY, chain, wanted).surplus == surplus


def test_continuations_number_from_two() -> None:
    assert [continuation_key(KEY, n) for n in (1, 2, 3)] == [KEY, f"{KEY}-2", f"{KEY}-3"]


def test_each_node_s_rows_carry_their_units_share_of_a_line_s_discount_adding_up_to_it() -> None:
    mugs = an_order_line("mugs", "MUG-BLUE", 5, discount=Decimal("1.00"))
    lamp = an_order_line("lamp", "LAMP-DESK", 1, discount=Decimal("0.00"))
    waiting = an_order_line("throw", "THROW-WOOL", 4, discount=Decimal("2.00"))  # 1 unit waits for supply
    work = [
        a_fulfillment_line("dfw", "mugs", 2),
        a_fulfillment_line("ewr", "mugs", 3),
        a_fulfillment_line("dfw", "lamp", 1, "LAMP-DESK"),
        a_fulfillment_line("dfw", "throw", 3, "THROW-WOOL"),
    ]

    shares = discount_shares([mugs, lamp, waiting], work)

    assert shares == {"dfw/mugs": Decimal("0.40"), "ewr/mugs": Decimal("0.60"), "dfw/throw": Decimal("1.50")}
