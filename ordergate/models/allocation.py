"""Choosing where an order's units come from, until routing replaces this choice.

The rule: one location that covers every line whole, preferring higher priority, then the
nearer to the destination, then the code; failing that, each line from the best location
that covers that line whole; failing that, no plan. Applying a plan is a separate, atomic
primitive in the store, so routing only has to replace `choose_plan`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Want:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Candidate:
    location_id: str
    code: str
    priority: int
    distance_km: float | None
    available: Mapping[str, int]

    def covers(self, want: Want) -> bool:
        return self.available.get(want.sku, 0) >= want.quantity


@dataclass(frozen=True)
class PlanLine:
    sku: str
    location_id: str
    quantity: int


@dataclass(frozen=True)
class Plan:
    lines: tuple[PlanLine, ...]

    @property
    def locations(self) -> list[str]:
        return sorted({line.location_id for line in self.lines})


def _preference(candidate: Candidate) -> tuple[int, float, str]:
    distance = candidate.distance_km if candidate.distance_km is not None else float("inf")
    return (-candidate.priority, distance, candidate.code)


def choose_plan(wants: Sequence[Want], candidates: Sequence[Candidate]) -> Plan | None:
    ranked = sorted(candidates, key=_preference)
    for candidate in ranked:
        if all(candidate.covers(want) for want in wants):
            return Plan(tuple(PlanLine(w.sku, candidate.location_id, w.quantity) for w in wants))
    lines: list[PlanLine] = []
    for want in wants:
        source = next((c for c in ranked if c.covers(want)), None)
        if source is None:
            return None
        lines.append(PlanLine(want.sku, source.location_id, want.quantity))
    return Plan(tuple(lines))


def short_lines(wants: Sequence[Want], candidates: Sequence[Candidate]) -> list[int]:
    """Indexes of the lines that no single location can cover."""
    return [i for i, want in enumerate(wants) if not any(c.covers(want) for c in candidates)]
