"""What an order asks for and where its units come from. Choosing the plan is routing's job
(`models/routing.py`); applying it is an atomic primitive in the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Want:
    sku: str
    quantity: int


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
