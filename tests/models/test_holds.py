"""What live holds add up to: one rule for the store's answer and the read views'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ordergate.models.inventory import held_units

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_live_hold_lines_are_summed_per_sku_and_location_until_each_expires() -> None:
    lines = [
        ("MUG", "dfw", 2, NOW + timedelta(minutes=5), "h1"),
        ("MUG", "dfw", 3, NOW + timedelta(minutes=1), "h2"),
        ("MUG", "ewr", 1, NOW + timedelta(minutes=5), "h1"),
        ("LAMP", "dfw", 4, NOW, "h3"),  # expires now: no longer held
    ]
    assert held_units(lines, NOW) == {("MUG", "dfw"): 5, ("MUG", "ewr"): 1}
    assert held_units(lines, NOW + timedelta(minutes=2)) == {("MUG", "dfw"): 2, ("MUG", "ewr"): 1}
    assert held_units(lines, NOW, excluding="h1") == {("MUG", "dfw"): 3}
