"""Which SKUs a push of availability to the storefront works out again (`workers.pushers`).

Every level, on the first push and whenever the last full one is `full_every` seconds old, or
when the read views say changes may have been missed or the catalogue changed. Otherwise only
the SKUs a commit here or on another replica changed since the last push (the views' change
counts) and those the last push could not tell the storefront (stale then). What moves without
a commit is caught by the full push, within the bound the setting promises: time alone (a cart
hold expiring, a vendor's feed growing old), and what the ERP says when its snapshot is read
again (the full push reads the SKUs whose snapshot is past its TTL, as any answer does; an ERP
notice is read at once and is a commit).

A push sends only the levels that differ from what the storefront was last sent, so a level that
changed there behind our back (a merchant's edit in its admin, the storefront's own decrement on
a sale that never reached us, a push from a replica that lost the role mid-push) would stay
wrong until ours moved. Every `resend_every` seconds a push sends every level, whatever was sent
before (`resend_due`): the storefront's figures heal within that bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pushed:
    """What the last push worked from."""

    full_at: float  # when (monotonic seconds) every level was last worked out
    changes: Mapping[str, int]  # each SKU's change count as the push read it
    epochs: tuple[int, int]  # the views' drops of everything and of the catalogue, then
    unsettled: frozenset[str] = field(default_factory=frozenset)  # stale then: not pushed
    resent_at: float = 0.0  # when every level was last sent, whatever had been sent before


def due_for_push(
    last: Pushed | None,
    skus: Sequence[str],
    changes: Mapping[str, int],
    epochs: tuple[int, int],
    now: float,
    full_every: float,
) -> tuple[list[str], bool]:
    """The SKUs (of `skus`, in their order) to work out again, and whether that is all of them."""
    if last is None or now - last.full_at >= full_every or epochs != last.epochs:
        return list(skus), True
    before = last.changes
    wanted = set(last.unsettled)
    wanted.update(sku for sku in skus if changes.get(sku, 0) != before.get(sku, 0))
    return [sku for sku in skus if sku in wanted], False


def resend_due(last: Pushed | None, now: float, resend_every: float) -> bool:
    """Whether this push sends every level, not only those that differ from what was sent."""
    return last is None or now - last.resent_at >= resend_every
