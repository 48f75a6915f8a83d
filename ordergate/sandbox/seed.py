"""The demo network (three distribution centres, six stores, one drop-ship vendor, real
coordinates) and the demo catalogue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ordergate.models.catalog import Product
from ordergate.models.location import Location, LocationType
from ordergate.models.supply import SellingPolicy

DC, STORE, VENDOR = LocationType.DISTRIBUTION_CENTER, LocationType.STORE, LocationType.DROP_SHIP_VENDOR
ALL_CHANNELS = ["web", "mobile", "call_center", "pos", "marketplace"]

# code, name, type, line1, city, region, postal code, lat, lon, ships, pickup, capacity, priority, handling
NETWORK: list[tuple[str, str, LocationType, str, str, str, str, float, float, bool, bool, int, int, int]] = [
    (
        "DC-EWR",
        "Newark DC",
        DC,
        "1 Distribution Way",
        "Newark",
        "NJ",
        "07114",
        40.7066,
        -74.1795,
        True,
        False,
        1200,
        10,
        1,
    ),
    (
        "DC-DFW",
        "Dallas DC",
        DC,
        "4200 Logistics Pkwy",
        "Dallas",
        "TX",
        "75261",
        32.8998,
        -97.0403,
        True,
        False,
        1000,
        10,
        1,
    ),
    (
        "DC-ONT",
        "Ontario DC",
        DC,
        "3100 E Inland Empire Blvd",
        "Ontario",
        "CA",
        "91764",
        34.0633,
        -117.6509,
        True,
        False,
        1100,
        10,
        1,
    ),
    (
        "ST-NYC",
        "Manhattan Flagship",
        STORE,
        "350 5th Ave",
        "New York",
        "NY",
        "10118",
        40.7484,
        -73.9857,
        True,
        True,
        120,
        5,
        0,
    ),
    (
        "ST-CHI",
        "Chicago Loop",
        STORE,
        "233 S Wacker Dr",
        "Chicago",
        "IL",
        "60606",
        41.8789,
        -87.6359,
        True,
        True,
        100,
        5,
        0,
    ),
    (
        "ST-SEA",
        "Seattle Downtown",
        STORE,
        "400 Pine St",
        "Seattle",
        "WA",
        "98101",
        47.6114,
        -122.3367,
        True,
        True,
        80,
        5,
        0,
    ),
    (
        "ST-ATL",
        "Atlanta Midtown",
        STORE,
        "1000 Peachtree St NE",
        "Atlanta",
        "GA",
        "30309",
        33.7815,
        -84.3830,
        True,
        True,
        80,
        5,
        0,
    ),
    (
        "ST-SFO",
        "San Francisco Union Square",
        STORE,
        "170 O'Farrell St",
        "San Francisco",
        "CA",
        "94102",
        37.7866,
        -122.4074,
        True,
        True,
        90,
        5,
        0,
    ),
    (
        "ST-DEN",
        "Denver Cherry Creek",
        STORE,
        "3000 E 1st Ave",
        "Denver",
        "CO",
        "80206",
        39.7173,
        -104.9531,
        True,
        True,
        70,
        5,
        0,
    ),
    (
        "VN-HOMEGOODS",
        "Homegoods Direct (drop-ship)",
        VENDOR,
        "2250 W Lone Cactus Dr",
        "Phoenix",
        "AZ",
        "85027",
        33.6895,
        -112.1088,
        True,
        False,
        400,
        1,
        3,
    ),
]

# Who carriers call at each node (fictional 555-01xx numbers), and at the merchant when a node
# has none: where a label starts without a phone (ShipEngine requires one), the receiving node's
# or the merchant's is given instead.
PHONES: dict[str, str] = {
    "DC-EWR": "+1 973-555-0110",
    "DC-DFW": "+1 972-555-0120",
    "DC-ONT": "+1 909-555-0130",
    "ST-NYC": "+1 212-555-0140",
    "ST-CHI": "+1 312-555-0150",
    "ST-SEA": "+1 206-555-0160",
    "ST-ATL": "+1 404-555-0170",
    "ST-SFO": "+1 415-555-0180",
    "ST-DEN": "+1 303-555-0190",
    "VN-HOMEGOODS": "+1 602-555-0199",
}
MERCHANT_PHONE = "+1 800-555-0100"

# sku, name, price, returnable
CATALOGUE: list[tuple[str, str, str, bool]] = [
    ("MUG-BLUE", "Stoneware Mug, Blue", "14.00", True),
    ("MUG-WHITE", "Stoneware Mug, White", "14.00", True),
    ("BOWL-SET-4", "Serving Bowls, Set of 4", "48.00", True),
    ("PLATE-DINNER", "Dinner Plate", "12.50", True),
    ("GLASS-TUMBLER-6", "Tumblers, Set of 6", "36.00", True),
    ("KNIFE-CHEF-8", "Chef's Knife 8in", "89.00", True),
    ("PAN-CAST-10", "Cast Iron Skillet 10in", "45.00", True),
    ("POT-DUTCH-5", "Enamel Dutch Oven 5qt", "129.00", True),
    ("KETTLE-STEEL", "Stovetop Kettle", "59.00", True),
    ("TOWEL-LINEN-2", "Linen Tea Towels, Pair", "24.00", True),
    ("APRON-CANVAS", "Canvas Apron", "32.00", True),
    ("CANDLE-CEDAR", "Cedar Candle", "28.00", False),
    ("THROW-WOOL", "Wool Throw", "149.00", True),
    ("PILLOW-LINEN", "Linen Pillow Cover", "39.00", True),
    ("LAMP-DESK", "Brass Desk Lamp", "119.00", True),
    ("RUG-JUTE-5X8", "Jute Rug 5x8", "249.00", True),
    ("CHAIR-OAK", "Oak Dining Chair", "289.00", True),
    ("TABLE-SIDE", "Walnut Side Table", "199.00", True),
    ("BASKET-SEAGRASS", "Seagrass Basket", "42.00", True),
    ("VASE-CERAMIC", "Ceramic Vase", "54.00", True),
    ("SHEET-SET-QUEEN", "Percale Sheet Set, Queen", "168.00", True),
    ("DUVET-KING", "Down Duvet, King", "329.00", True),
    ("SOAP-OLIVE-3", "Olive Oil Soap, 3 Bars", "18.00", False),
    ("GIFT-CARD-50", "Gift Card $50", "50.00", False),
]


def demo_locations() -> list[Location]:
    return [
        Location(
            code=code,
            name=name,
            type=kind,
            line1=line1,
            city=city,
            region=region,
            postal_code=postal,
            country_code="US",
            latitude=lat,
            longitude=lon,
            ships=ships,
            pickup_enabled=pickup,
            channels=[c for c in ALL_CHANNELS if kind is not VENDOR or c != "pos"],
            capacity_per_day=capacity,
            priority=priority,
            handling_days=handling,
            safety_stock=2 if kind is STORE else 0,
            feed_max_age_minutes=24 * 60 if kind is VENDOR else None,
            phone=PHONES.get(code),
        )
        for (
            code,
            name,
            kind,
            line1,
            city,
            region,
            postal,
            lat,
            lon,
            ships,
            pickup,
            capacity,
            priority,
            handling,
        ) in NETWORK
    ]


# Sold beyond the units on hand, against the open purchase orders (`sandbox/stock.py`): the
# wool throw is out at Dallas with 40 due there in ten days.
BACKORDERABLE = frozenset({"THROW-WOOL"})


def demo_products(now: datetime, currency: str = "USD") -> list[Product]:
    return [
        Product(
            sku=sku,
            name=name,
            price=Decimal(price),
            currency=currency,
            returnable=returnable,
            selling_policy=SellingPolicy.BACKORDER if sku in BACKORDERABLE else SellingPolicy.ON_HAND,
            created_at=now,
            updated_at=now,
        )
        for sku, name, price, returnable in CATALOGUE
    ]
