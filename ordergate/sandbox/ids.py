"""Sequential ids per kind of record, as an upstream hands them out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Ids:
    next: dict[str, int] = field(default_factory=dict)

    def take(self, kind: str, start: int = 1) -> int:
        value = self.next.get(kind, start)
        self.next[kind] = value + 1
        return value
