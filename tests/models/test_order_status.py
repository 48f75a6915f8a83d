"""The stage a customer reads, from the order, its fulfilment orders and its parcels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from ordergate.models.fulfillment import FulfillmentOrderStatus as F
from ordergate.models.order import DeliveryMethod, OrderStatus, promise_later
from ordergate.models.order_status import STAGE_TEXT, Stage, pickup_until, stage_of
from ordergate.models.shipment import Shipment
from ordergate.models.shipment import TrackingStatus as T
from ordergate.models.tracking import carrier_name
from tests.models.records import a_fulfillment_order, an_order

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def work(*statuses: F, method: DeliveryMethod = DeliveryMethod.SHIP) -> list[Any]:
    return [a_fulfillment_order(f"fo-{i}", s, delivery_method=method) for i, s in enumerate(statuses)]


def parcels(*statuses: T) -> list[Shipment]:
    return [
        Shipment(
            order_id="o",
            fulfillment_order_id="f",
            carrier="ups",
            service="ground",
            tracking_number=f"1Z{i}",
            status=s,
            created_at=NOW,
        )
        for i, s in enumerate(statuses)
    ]


@pytest.mark.parametrize(
    ("order_status", "fos", "shipments", "stage"),
    [
        (OrderStatus.CONFIRMED, work(F.OPEN), [], Stage.RECEIVED),
        (OrderStatus.ON_HOLD, work(F.ON_HOLD), [], Stage.ON_HOLD),
        (OrderStatus.CANCELLED, work(F.CANCELLED), [], Stage.CANCELLED),
        (OrderStatus.IN_PROGRESS, work(F.PICKING), [], Stage.PREPARING),
        (OrderStatus.IN_PROGRESS, work(F.SHIPPED), parcels(T.LABEL_CREATED), Stage.SHIPPED),
        (OrderStatus.IN_PROGRESS, work(F.SHIPPED, F.PACKED), parcels(T.IN_TRANSIT), Stage.PARTLY_SHIPPED),
        (OrderStatus.IN_PROGRESS, work(F.SHIPPED), parcels(T.OUT_FOR_DELIVERY), Stage.OUT_FOR_DELIVERY),
        (
            OrderStatus.IN_PROGRESS,
            work(F.SHIPPED, F.SHIPPED),
            parcels(T.DELIVERED, T.IN_TRANSIT),
            Stage.SHIPPED,
        ),
        (
            OrderStatus.COMPLETED,
            work(F.SHIPPED, F.SHIPPED),
            parcels(T.DELIVERED, T.DELIVERED),
            Stage.DELIVERED,
        ),
        (OrderStatus.IN_PROGRESS, work(F.SHIPPED, F.OPEN), parcels(T.DELIVERED), Stage.PARTLY_SHIPPED),
        (OrderStatus.IN_PROGRESS, work(F.SHIPPED), parcels(T.EXCEPTION), Stage.DELIVERY_PROBLEM),
        # A rejected node's work stands for nothing: the rest decides.
        (OrderStatus.COMPLETED, work(F.REJECTED, F.SHIPPED), parcels(T.DELIVERED), Stage.DELIVERED),
    ],
)
def test_the_stage_of_a_shipped_order(
    order_status: OrderStatus, fos: list[Any], shipments: list[Shipment], stage: Stage
) -> None:
    assert stage_of(an_order(status=order_status), fos, shipments) is stage


def test_the_stage_of_a_pickup() -> None:
    pickup = DeliveryMethod.PICKUP
    order = an_order(status=OrderStatus.IN_PROGRESS)
    assert stage_of(order, work(F.PACKED, method=pickup), []) is Stage.PREPARING
    assert stage_of(order, work(F.READY_FOR_PICKUP, method=pickup), []) is Stage.READY_FOR_PICKUP
    assert (
        stage_of(an_order(status=OrderStatus.COMPLETED), work(F.PICKED_UP, method=pickup), [])
        is Stage.PICKED_UP
    )


def test_every_stage_has_words_for_the_customer() -> None:
    assert set(STAGE_TEXT) == set(Stage)
    assert all(text.title and text.detail.endswith((".", "!")) for text in STAGE_TEXT.values())


def test_a_pickup_waits_a_week() -> None:
    assert pickup_until(NOW) == date(2026, 12, 11)


@pytest.mark.parametrize(
    ("carrier", "service", "name"),
    [
        ("shipengine", "usps_priority_mail", "USPS"),
        ("shipengine", "ups_ground", "UPS"),
        ("shipengine", "fedex_home_delivery", "FedEx"),
        ("ups", "03", "UPS"),
        ("acme", None, "ACME"),
    ],
)
def test_a_parcel_is_named_by_the_carrier_the_customer_knows(
    carrier: str, service: str | None, name: str
) -> None:
    assert carrier_name(carrier, service) == name


def test_a_promise_only_ever_moves_later() -> None:
    order = an_order(promised_on=date(2026, 12, 10))

    moved = [promise_later(order, day) for day in (None, date(2026, 12, 9), date(2026, 12, 10))]
    assert moved == [False, False, False]
    assert order.promised_on == date(2026, 12, 10)
    assert promise_later(order, date(2026, 12, 14)) is True
    assert order.promised_on == date(2026, 12, 14)
    unpromised = an_order(promised_on=None)
    assert promise_later(unpromised, date(2026, 12, 1)) is True
    assert unpromised.promised_on == date(2026, 12, 1)
