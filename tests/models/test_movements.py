"""The rule that joins an ERP snapshot to the movements it cannot include yet, checked over every
interleaving of a read, a sending, the ERP applying it and its acknowledgement."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from ordergate.models.movements import (
    REREAD_EVERY,
    REREAD_MARGIN,
    MovementKind,
    ReadWindow,
    StockMovement,
    included,
    placeable,
    reconcile,
    reread_at,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NO_SKEW = timedelta(0)
BASE = 100  # the ERP's figure before it hears of any movement


def at(tick: int | None) -> datetime | None:
    return None if tick is None else T0 + timedelta(seconds=tick)


def moved(quantity: int, sent: int | None, acked: int | None, counted: int | None = None) -> StockMovement:
    return StockMovement(
        sku="MUG-BLUE",
        location_id="loc",
        kind=MovementKind.SHIP if quantity < 0 else MovementKind.RESTOCK,
        quantity=quantity,
        task_key="t",
        created_at=T0,
        sent_at=at(sent),
        acked_at=at(acked),
        counted_at=at(counted),
    )


def window(started: int, finished: int) -> ReadWindow:
    return ReadWindow(T0 + timedelta(seconds=started), T0 + timedelta(seconds=finished))


def histories(ticks: int) -> list[tuple[int | None, int | None, int | None]]:
    """(sent, applied by the ERP, acked) for one movement: never sent; sent and applied with the
    answer lost (never acked); sent, applied, acked, with sent <= applied <= acked."""
    found: list[tuple[int | None, int | None, int | None]] = [(None, None, None)]
    for sent in range(ticks):
        found.append((sent, None, None))  # refused or lost before the ERP applied it
        for applied in range(sent, ticks):
            found.append((sent, applied, None))  # applied, the answer lost
            found.extend((sent, applied, acked) for acked in range(applied, ticks))
    return found


def test_every_interleaving_counts_each_unit_exactly_once_or_keeps_the_local_figure() -> None:
    ticks = 7
    decided = kept = 0
    for sent, applied, acked in histories(ticks):
        movement = moved(-3, sent, acked)
        for started, finished in itertools.combinations_with_replacement(range(ticks), 2):
            for read_at in range(started, finished + 1):  # the instant the ERP read its stock
                erp = BASE - (3 if applied is not None and applied < read_at else 0)
                verdict = reconcile(erp, [movement], window(started, finished), NO_SKEW)
                disjoint = (acked is not None and acked < started) or sent is None or sent > finished
                if verdict.on_hand is None:
                    assert not disjoint, "a read apart from the movement's flight must be used"
                    kept += 1
                    continue
                decided += 1
                assert verdict.on_hand == BASE - 3, (sent, applied, acked, started, finished, read_at)
    # Both outcomes occur: the walk covers reads apart from the flight and reads overlapping it.
    assert decided > 0
    assert kept > 0


def test_a_read_on_the_same_tick_as_the_sending_or_the_acknowledgement_is_undecided() -> None:
    # On one tick the ERP may have applied it before or after it read: nobody can tell.
    assert included(moved(-1, 5, 5), window(5, 5), NO_SKEW) is None
    assert included(moved(-1, 5, 9), window(1, 5), NO_SKEW) is None
    assert included(moved(-1, 1, 4), window(4, 6), NO_SKEW) is None


def test_two_movements_in_different_states_add_up() -> None:
    shipped_long_ago = moved(-2, 0, 1)  # the ERP had it before the read started
    restocked_now = moved(+4, None, None)  # not sent yet
    verdict = reconcile(BASE - 2, [shipped_long_ago, restocked_now], window(5, 6), NO_SKEW)
    assert verdict.on_hand == BASE - 2 + 4
    assert verdict.counted == (shipped_long_ago.id,)
    assert verdict.in_flight == 4


def test_a_counted_movement_is_not_counted_again() -> None:
    verdict = reconcile(BASE - 2, [moved(-2, 0, 1, counted=3)], window(1, 2), NO_SKEW)
    assert (verdict.on_hand, verdict.counted, verdict.in_flight) == (BASE - 2, (), 0)


def test_one_undecidable_movement_keeps_the_whole_position_local() -> None:
    verdict = reconcile(BASE, [moved(-1, None, None), moved(-2, 3, None)], window(2, 4), NO_SKEW)
    assert verdict.on_hand is None


def test_skew_widens_the_window_on_both_sides() -> None:
    skew = timedelta(seconds=2)
    assert included(moved(-1, 0, 4), window(5, 6), NO_SKEW) is True
    assert included(moved(-1, 0, 4), window(5, 6), skew) is None  # acked within the skew of the read
    assert included(moved(-1, 7, None), window(5, 6), NO_SKEW) is False
    assert included(moved(-1, 7, None), window(5, 6), skew) is None
    assert included(moved(-1, 9, None), window(5, 6), skew) is False


def test_the_figure_never_goes_below_zero() -> None:
    assert reconcile(1, [moved(-3, None, None)], window(0, 1), NO_SKEW).on_hand == 0


def test_a_read_is_placeable_unless_a_movement_is_on_its_way_or_acknowledged_within_the_skew() -> None:
    skew = timedelta(seconds=2)
    now = at(10)
    assert now is not None
    assert placeable([], now, skew)
    assert placeable([moved(-1, None, None)], now, skew)  # not sent: the ERP cannot have it
    assert placeable([moved(-1, 2, 7)], now, skew)  # acknowledged before the skew: it has it
    assert placeable([moved(-1, 2, 9, counted=9)], now, skew)  # counted by an earlier read
    assert not placeable([moved(-1, 9, None)], now, skew)  # sent, no answer yet
    assert not placeable([moved(-1, 9, 9)], now, skew)  # acknowledged within the skew
    assert not placeable([moved(-1, None, None), moved(-2, 9, 9)], now, skew)
    for sent, acked in [(s, a) for s in range(12) for a in [None, *range(s, 12)]]:
        verdict = included(moved(-1, sent, acked), window(10, 10), skew)
        assert placeable([moved(-1, sent, acked)], now, skew) is (verdict is not None)


def test_reads_again_are_made_past_the_skew_on_a_grid_every_notice_of_a_span_shares() -> None:
    skew = timedelta(seconds=2)
    step = REREAD_EVERY.total_seconds()
    marks = set()
    for tenth in range(200):
        now = T0 + timedelta(seconds=tenth / 10)
        due = reread_at(now, skew)
        assert now + skew + REREAD_MARGIN <= due < now + skew + REREAD_MARGIN + REREAD_EVERY
        assert due.timestamp() % step == 0
        assert due.tzinfo is not None
        marks.add(due)
    assert len(marks) == 5  # twenty seconds of notices, from 3 s past one mark: five reads
