"""Which SKUs a storefront availability push works out again (`models.availability_push`)."""

from __future__ import annotations

from ordergate.models.availability_push import Pushed, due_for_push, resend_due

SKUS = ["CHAIR-OAK", "LAMP-DESK", "MUG-BLUE", "RUG-JUTE-5X8"]


def last(**changes: int) -> Pushed:
    return Pushed(full_at=100.0, changes=changes, epochs=(0, 0))


def test_the_first_push_works_out_every_sku() -> None:
    assert due_for_push(None, SKUS, {}, (0, 0), 0.0, 30.0) == (SKUS, True)


def test_between_full_pushes_only_skus_whose_change_count_moved() -> None:
    before = last(**{"MUG-BLUE": 3, "LAMP-DESK": 1})
    changes = {"MUG-BLUE": 4, "LAMP-DESK": 1, "CHAIR-OAK": 1}

    assert due_for_push(before, SKUS, changes, (0, 0), 110.0, 30.0) == (["CHAIR-OAK", "MUG-BLUE"], False)
    assert due_for_push(before, SKUS, {"MUG-BLUE": 3, "LAMP-DESK": 1}, (0, 0), 110.0, 30.0) == ([], False)


def test_skus_left_stale_by_the_last_push_are_worked_out_again() -> None:
    before = Pushed(full_at=100.0, changes={}, epochs=(0, 0), unsettled=frozenset({"RUG-JUTE-5X8"}))

    wanted, full = due_for_push(before, SKUS, {"LAMP-DESK": 1}, (0, 0), 110.0, 30.0)

    assert (wanted, full) == (["LAMP-DESK", "RUG-JUTE-5X8"], False)


def test_every_sku_once_the_last_full_push_is_as_old_as_the_bound() -> None:
    assert due_for_push(last(), SKUS, {}, (0, 0), 129.9, 30.0) == ([], False)
    assert due_for_push(last(), SKUS, {}, (0, 0), 130.0, 30.0) == (SKUS, True)


def test_every_sku_when_changes_may_have_been_missed_or_the_catalogue_changed() -> None:
    assert due_for_push(last(), SKUS, {}, (1, 0), 101.0, 30.0) == (SKUS, True)
    assert due_for_push(last(), SKUS, {}, (0, 1), 101.0, 30.0) == (SKUS, True)


def test_every_level_is_sent_again_once_the_last_resend_is_as_old_as_its_bound() -> None:
    sent = Pushed(full_at=650.0, changes={}, epochs=(0, 0), resent_at=100.0)

    assert resend_due(None, 0.0, 600.0)  # the first push sends every level
    assert not resend_due(sent, 699.9, 600.0)
    assert resend_due(sent, 700.0, 600.0)
