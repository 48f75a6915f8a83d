from __future__ import annotations

from datetime import date

import pytest

from ordergate.models.delivery import Candidate, check_choice, choice, offer, parse, unmet
from ordergate.models.order import DeliveryMethod, ServiceLevel

MONDAY, TUESDAY, WEDNESDAY = date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)
SHIP, PICKUP = DeliveryMethod.SHIP, DeliveryMethod.PICKUP


def test_an_option_s_id_says_how_from_where_and_by_when_and_reads_back() -> None:
    express = choice(SHIP, ServiceLevel.EXPRESS, ["ST-SFO", "DC-ONT", "ST-SFO"], TUESDAY)
    pickup = choice(PICKUP, ServiceLevel.STANDARD, ["ST-SFO"], None)

    assert express.id == "EXPRESS:DC-ONT+ST-SFO:2026-12-08"
    assert pickup.id == "PICKUP:ST-SFO:-"
    assert parse(express.id) == express
    assert parse(pickup.id) == pickup


@pytest.mark.parametrize(
    "text",
    [
        "",
        "fastest please",
        "OVERNIGHT:DC-ONT:-",
        "EXPRESS::-",
        "EXPRESS:ST-SFO+DC-ONT:-",  # not as an option writes it
        "EXPRESS:DC-ONT:2026-13-40",
        "PICKUP:ST-SFO+ST-SEA:-",
        "EXPRESS:DC-ONT:-:more",
        "STANDARD:" + "X" * 600 + ":-",
    ],
)
def test_text_that_is_not_an_option_s_id_is_not_read(text: str) -> None:
    assert parse(text) is None


def test_an_option_for_another_method_or_store_is_invalid() -> None:
    pickup_id = choice(PICKUP, ServiceLevel.STANDARD, ["ST-SFO"], None).id

    assert check_choice(None, SHIP, None) == (None, [])
    assert check_choice(pickup_id, PICKUP, "ST-SFO")[0] is not None
    for text, method, store in ((pickup_id, SHIP, None), (pickup_id, PICKUP, "ST-SEA"), ("x", SHIP, None)):
        chosen, problems = check_choice(text, method, store)
        assert chosen is None
        assert [(p.code, p.field) for p in problems] == [("INVALID_DELIVERY_OPTION", ("delivery_option_id",))]


def test_an_option_is_met_only_from_its_locations_without_waiting_by_its_date() -> None:
    chosen = choice(SHIP, ServiceLevel.EXPRESS, ["ST-SFO"], TUESDAY)

    assert unmet(chosen, ["ST-SFO"], MONDAY, waits=False) is None
    assert unmet(chosen, ["ST-SFO"], TUESDAY, waits=False) is None
    for codes, arrives, waits in ((["DC-ONT"], MONDAY, False), (["ST-SFO"], WEDNESDAY, False),
                                  (["ST-SFO"], MONDAY, True), (["ST-SFO"], None, False)):  # fmt: skip
        problem = unmet(chosen, codes, arrives, waits=waits)
        assert problem is not None
        assert problem.code == "DELIVERY_OPTION_UNAVAILABLE"


def test_express_is_offered_only_when_a_plan_arrives_sooner_than_routing_s_choice() -> None:
    standard = Candidate(("DC-ONT",), WEDNESDAY)
    store = Candidate(("ST-SFO",), MONDAY)
    later = Candidate(("DC-EWR",), date(2026, 12, 11))

    assert offer([standard, later, store]) == [(ServiceLevel.STANDARD, 0), (ServiceLevel.EXPRESS, 2)]
    assert offer([store, standard]) == [(ServiceLevel.STANDARD, 0)]
    assert offer([Candidate(("DC-ONT",), None), store]) == [
        (ServiceLevel.STANDARD, 0),
        (ServiceLevel.EXPRESS, 1),
    ]
    assert offer([]) == []
