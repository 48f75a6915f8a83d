from __future__ import annotations

from ordergate.models.allocation import Candidate, PlanLine, Want, choose_plan, short_lines


def a_candidate(code: str, priority: int = 0, distance_km: float | None = None, **stock: int) -> Candidate:
    return Candidate(
        location_id=code.lower(),
        code=code,
        priority=priority,
        distance_km=distance_km,
        available={sku.replace("_", "-"): units for sku, units in stock.items()},
    )


def test_one_location_that_covers_every_line_is_preferred() -> None:
    wants = [Want("MUG-BLUE", 2), Want("PAN-CAST-10", 1)]
    found = [
        a_candidate("ST-A", priority=9, MUG_BLUE=5),
        a_candidate("DC-B", priority=1, MUG_BLUE=5, PAN_CAST_10=1),
    ]

    plan = choose_plan(wants, found)

    assert plan is not None
    assert plan.lines == (PlanLine("MUG-BLUE", "dc-b", 2), PlanLine("PAN-CAST-10", "dc-b", 1))


def test_higher_priority_then_nearer_then_code_wins() -> None:
    wants = [Want("MUG-BLUE", 1)]
    far_important = a_candidate("DC-FAR", priority=10, distance_km=3000, MUG_BLUE=1)
    near = a_candidate("DC-NEAR", priority=10, distance_km=10, MUG_BLUE=1)
    low = a_candidate("ST-LOW", priority=1, distance_km=1, MUG_BLUE=1)

    plan = choose_plan(wants, [far_important, low, near])

    assert plan is not None
    assert plan.locations == ["dc-near"]


def test_lines_split_across_locations_when_none_covers_all() -> None:
    wants = [Want("MUG-BLUE", 2), Want("PAN-CAST-10", 1)]
    found = [a_candidate("A", MUG_BLUE=2), a_candidate("B", PAN_CAST_10=1)]

    plan = choose_plan(wants, found)

    assert plan is not None
    assert plan.locations == ["a", "b"]


def test_no_plan_when_a_line_fits_nowhere_whole() -> None:
    wants = [Want("MUG-BLUE", 3), Want("PAN-CAST-10", 1)]
    found = [a_candidate("A", MUG_BLUE=2, PAN_CAST_10=1), a_candidate("B", MUG_BLUE=2)]

    assert choose_plan(wants, found) is None
    assert short_lines(wants, found) == [0]
