"""Demo stock for the sandbox ERP: units on hand per SKU and location, and open purchase orders.

Distribution centres hold deep stock, stores a shallow shelf, and the drop-ship vendor carries
only a few big items. A zero is a SKU that is carried there and sold out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

SHELF_CODES = ("DC-EWR", "DC-DFW", "DC-ONT", "ST-NYC", "ST-CHI", "ST-SEA", "ST-ATL", "ST-SFO", "ST-DEN")
VENDOR_CODE = "VN-HOMEGOODS"

# fmt: off
SHELF: dict[str, tuple[int, int, int, int, int, int, int, int, int]] = {
    # SKU               EWR   DFW   ONT  NYC  CHI  SEA  ATL  SFO  DEN
    "MUG-BLUE":        (240,  180,  210,  24,  18,  12,  15,  20,  10),
    "MUG-WHITE":       (300,  220,  260,  30,  20,  16,  18,  22,  12),
    "BOWL-SET-4":      ( 80,   60,   75,   6,   4,   0,   3,   5,   2),
    "PLATE-DINNER":    (400,  350,  380,  48,  36,  24,  30,  40,  20),
    "GLASS-TUMBLER-6": (120,   90,  110,  10,   8,   6,   0,   9,   4),
    "KNIFE-CHEF-8":    ( 45,   30,   40,   5,   3,   2,   2,   4,   1),
    "PAN-CAST-10":     ( 90,   70,    0,   8,   6,   4,   5,   0,   3),
    "POT-DUTCH-5":     (  0,   25,   30,   3,   2,   1,   2,   2,   0),
    "KETTLE-STEEL":    ( 60,   50,   55,   6,   4,   3,   4,   5,   2),
    "TOWEL-LINEN-2":   (200,  150,  170,  20,  16,  12,  14,  18,   8),
    "APRON-CANVAS":    (100,   80,   90,  10,   8,   6,   6,   8,   4),
    "CANDLE-CEDAR":    (250,  200,  220,  30,  24,  20,  18,  26,  12),
    "THROW-WOOL":      ( 40,    0,   35,   4,   3,   2,   0,   3,   2),
    "PILLOW-LINEN":    (150,  120,  130,  12,  10,   8,   9,  11,   6),
    "LAMP-DESK":       ( 35,   28,   30,   3,   2,   0,   2,   3,   1),
    "RUG-JUTE-5X8":    ( 20,   15,   18,   1,   0,   0,   1,   1,   0),
    "CHAIR-OAK":       ( 30,   24,    0,   2,   2,   1,   0,   2,   1),
    "TABLE-SIDE":      ( 18,   12,   15,   1,   1,   0,   1,   1,   0),
    "BASKET-SEAGRASS": (110,   90,  100,   9,   7,   5,   6,   8,   4),
    "VASE-CERAMIC":    ( 70,   55,   60,   6,   5,   4,   0,   5,   3),
    "SHEET-SET-QUEEN": ( 85,   70,   80,   6,   5,   4,   4,   5,   3),
    "DUVET-KING":      ( 25,   20,   22,   2,   1,   1,   1,   2,   0),
    "SOAP-OLIVE-3":    (500,  420,  460,  40,  32,  28,  30,  36,  20),
    "GIFT-CARD-50":    (9999, 9999, 9999, 999, 999, 999, 999, 999, 999),
}
# fmt: on

VENDOR: dict[str, int] = {"RUG-JUTE-5X8": 60, "CHAIR-OAK": 80, "TABLE-SIDE": 45, "DUVET-KING": 30}


@dataclass(frozen=True)
class PurchaseLine:
    sku: str
    quantity: int
    received: bool = False


@dataclass(frozen=True)
class DemoPurchaseOrder:
    order_no: str
    location_code: str
    status: str
    expected_on: date
    lines: tuple[PurchaseLine, ...]


def demo_on_hand() -> dict[tuple[str, str], Decimal]:
    """(sku, location code) -> units on hand, for every place a SKU is carried."""
    stock = {
        (sku, code): Decimal(units)
        for sku, row in SHELF.items()
        for code, units in zip(SHELF_CODES, row, strict=True)
    }
    stock.update({(sku, VENDOR_CODE): Decimal(units) for sku, units in VENDOR.items()})
    return stock


def demo_purchase_orders(today: date) -> list[DemoPurchaseOrder]:
    """Open supply due in 3, 10 and 21 days, one order half received, and two that are not
    incoming at all (a draft and one received last week)."""

    def due(days: int) -> date:
        return today + timedelta(days=days)

    return [
        DemoPurchaseOrder(
            "PO-1001",
            "DC-EWR",
            "NOT_RECEIVED",
            due(3),
            (
                PurchaseLine("POT-DUTCH-5", 24),
                PurchaseLine("MUG-BLUE", 120),
                PurchaseLine("KNIFE-CHEF-8", 30),
            ),
        ),
        DemoPurchaseOrder(
            "PO-1002",
            "DC-DFW",
            "NOT_RECEIVED",
            due(10),
            (PurchaseLine("THROW-WOOL", 40), PurchaseLine("LAMP-DESK", 20), PurchaseLine("CHAIR-OAK", 16)),
        ),
        DemoPurchaseOrder(
            "PO-1003",
            "DC-ONT",
            "NOT_RECEIVED",
            due(21),
            (PurchaseLine("PAN-CAST-10", 50), PurchaseLine("CHAIR-OAK", 20), PurchaseLine("DUVET-KING", 12)),
        ),
        DemoPurchaseOrder(
            "PO-1004",
            "DC-EWR",
            "PARTIALLY_RECEIVED",
            due(10),
            (PurchaseLine("CANDLE-CEDAR", 100, received=True), PurchaseLine("VASE-CERAMIC", 36)),
        ),
        DemoPurchaseOrder("PO-1005", "DC-DFW", "DRAFT", due(30), (PurchaseLine("MUG-WHITE", 200),)),
        DemoPurchaseOrder(
            "PO-0999", "DC-DFW", "RECEIVED", due(-7), (PurchaseLine("MUG-WHITE", 150, received=True),)
        ),
    ]
