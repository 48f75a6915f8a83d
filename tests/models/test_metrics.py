"""The KPI arithmetic over tallies: ratios, the average cost to the cent, rows and totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ordergate.models.errors import ValidationFailed
from ordergate.models.metrics import (
    Figures,
    GroupKey,
    MetricsGroup,
    Percentiles,
    Span,
    SpellFigures,
    Tally,
    assemble,
    check_range,
)

NOV2, NOV3 = date(2026, 11, 2), date(2026, 11, 3)


def test_a_ratio_over_nothing_is_none_not_zero() -> None:
    figures = Figures(GroupKey(), Tally())

    assert [figures.split_rate, figures.average_shipments, figures.average_shipping_cost] == [None] * 3
    assert [figures.on_time_rate, figures.return_rate, figures.pickup_share] == [None] * 3
    assert figures.span(Span.TO_SHIP) == Percentiles(0, None, None)


def test_the_average_shipping_cost_is_rounded_half_up_to_the_cent() -> None:
    figures = Figures(GroupKey(), Tally(orders=2, shipped=2, shipping_cost=Decimal("18.51")))

    assert figures.average_shipping_cost == Decimal("9.26")


def test_rates_take_their_own_denominators() -> None:
    tally = Tally(orders=5, shipped=3, shipments=4, from_store=2, handed_over=4, returned=1, cancelled=1)
    figures = Figures(GroupKey(), tally)

    assert figures.average_shipments == 4 / 3
    assert figures.ship_from_store_share == 2 / 3
    assert figures.return_rate == 1 / 4
    assert figures.cancellation_rate == 1 / 5


def test_a_day_with_only_refusals_gets_a_row_and_channels_keep_their_own_counts() -> None:
    refusals = {GroupKey(day=NOV2, channel="web"): 2, GroupKey(day=NOV3, channel="pos"): 1}
    tallies = {GroupKey(day=NOV2, channel="web"): Tally(orders=1), GroupKey(): Tally(orders=1)}

    by_day = assemble(NOV2, NOV3, MetricsGroup.DAY, {GroupKey(day=NOV2): Tally(orders=1)}, {}, refusals)
    by_channel = assemble(NOV2, NOV3, MetricsGroup.CHANNEL, tallies, {}, refusals)

    assert [(row.key.day, row.tally.orders, row.refusals) for row in by_day.rows] == [
        (NOV2, 1, 2),
        (NOV3, 0, 1),
    ]
    assert [(row.key.channel, row.refusals) for row in by_channel.rows] == [("web", 2), ("pos", 1)]
    assert by_channel.totals.refusals == 3
    assert by_channel.totals.tally.orders == 1


def test_a_locations_row_has_no_refusals_and_no_row_for_refusals_alone() -> None:
    tallies = {GroupKey(day=NOV2, location_code="DC-DFW"): Tally(orders=1)}

    report = assemble(NOV2, NOV3, MetricsGroup.LOCATION, tallies, {}, {GroupKey(day=NOV3, channel="web"): 4})

    assert [(row.key.location_code, row.refusals) for row in report.rows] == [("DC-DFW", None)]
    assert report.totals.refusals == 4


def test_spells_of_short_stock_get_rows_by_day_and_location_and_none_in_a_channel_s_row() -> None:
    lasted = Percentiles(1, 60, 60)
    by_location = {
        GroupKey(day=NOV3, location_code="ST-CHI"): SpellFigures(2, lasted),
        GroupKey(): SpellFigures(2, lasted),
    }
    channels = {GroupKey(day=NOV2, channel="web"): Tally(orders=1)}

    located = assemble(NOV2, NOV3, MetricsGroup.LOCATION, {}, {}, {}, by_location)
    by_channel = assemble(
        NOV2, NOV3, MetricsGroup.CHANNEL, channels, {}, {}, {GroupKey(): SpellFigures(2, lasted)}
    )

    assert [(row.key.location_code, row.tally.orders, row.spells) for row in located.rows] == [
        ("ST-CHI", 0, SpellFigures(2, lasted))
    ]
    assert [(row.key.channel, row.spells) for row in by_channel.rows] == [("web", None)]
    assert by_channel.totals.spells == SpellFigures(2, lasted)


@pytest.mark.parametrize(("start", "end"), [(NOV3, NOV2), (date(2025, 1, 1), date(2026, 1, 2))])
def test_a_backward_or_longer_than_366_day_range_is_invalid(start: date, end: date) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_range(start, end)

    assert [problem.code for problem in refused.value.problems] == ["INVALID_RANGE"]


def test_one_day_and_366_days_are_valid_ranges() -> None:
    check_range(NOV2, NOV2)
    check_range(date(2024, 1, 1), date(2024, 12, 31))
