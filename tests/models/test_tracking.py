"""Tracking links: each carrier's own page, the carrier API's URL preferred when it is sane."""

from __future__ import annotations

import pytest

from ordergate.models.tracking import MAX_URL, link_for, tracking_page


@pytest.mark.parametrize(
    ("carrier", "number", "url"),
    [
        ("ups", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        ("fedex", "794699999999", "https://www.fedex.com/fedextrack/?trknbr=794699999999"),
        (
            "usps",
            "9400100000000000000000",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000",
        ),
        (
            "stamps_com",
            "9400100000000000000000",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000",
        ),
        (" UPS ", " 1Z1 ", "https://www.ups.com/track?tracknum=1Z1"),
    ],
)
def test_each_carrier_s_number_opens_its_own_tracking_page(carrier: str, number: str, url: str) -> None:
    assert tracking_page(carrier, number) == url


def test_a_number_is_encoded_so_it_cannot_change_the_link() -> None:
    assert (
        tracking_page("ups", "1Z&tracknum=evil#x")
        == "https://www.ups.com/track?tracknum=1Z%26tracknum%3Devil%23x"
    )


def test_an_unknown_carrier_or_a_missing_number_has_no_link() -> None:
    assert tracking_page("pigeon_post", "123") is None
    assert tracking_page("ups", "  ") is None
    assert tracking_page("ups", "9" * MAX_URL) is None


def test_the_carrier_api_s_own_https_url_wins_and_anything_else_falls_back_to_the_page() -> None:
    own = "https://track.example-carrier.com/p/1Z1"
    assert link_for("ups", "1Z1", own) == own
    page = "https://www.ups.com/track?tracknum=1Z1"
    for given in (
        None,
        "",
        "http://insecure.example/1Z1",
        "javascript:alert(1)",
        "https:///nohost",
        "https://x/" + "a" * MAX_URL,
    ):
        assert link_for("ups", "1Z1", given) == page
