"""What a document's own objects let a replica work out once: kept by those objects' identity.

The parser hands back the same `DocumentNode` (and so the same nodes) for the same text, so a
value worked out from a document (its validation, its price, a resolver's selection tree) can be
kept by the identity of the objects it came from: hashing a document itself walks its whole
tree. Each entry holds its objects, so their identities are not reused while it is kept, and is
served only to the very same objects. At most `most` entries, the least recently used dropped
first: a client sending ever-new documents pays for its own and cannot grow what is kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
Key = tuple[tuple[int, ...], Hashable]


class KeptBy(Generic[V]):
    def __init__(self, most: int) -> None:
        self.most = most
        self._kept: OrderedDict[tuple[tuple[int, ...], Hashable], tuple[tuple[object, ...], V]] = (
            OrderedDict()
        )

    def get(self, objects: tuple[object, ...], also: Hashable = ()) -> tuple[V] | None:
        """The value kept for these very objects (and `also`), as a one-item tuple (a kept value
        may itself be None), or None."""
        key = (tuple(map(id, objects)), also)
        kept = self._kept.get(key)
        if kept is None or not all(a is b for a, b in zip(kept[0], objects, strict=True)):
            return None
        self._kept.move_to_end(key)
        return (kept[1],)

    def keep(self, objects: tuple[object, ...], value: V, also: Hashable = ()) -> None:
        self._kept[(tuple(map(id, objects)), also)] = (objects, value)
        while len(self._kept) > self.most:
            self._kept.popitem(last=False)

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
