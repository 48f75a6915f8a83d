"""Revision 0032 promises an expiry look for every return approved before it whose label was
bought (those approved later are promised theirs when the label is bought), and none for a
return that no longer waits for its parcel or has no label to send it with."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from ordergate.models.outbox import RETURN_EXPIRY
from ordergate.store.migrate import alembic_config

THEN = datetime(2026, 11, 20, tzinfo=UTC).isoformat()


def test_returns_waiting_with_a_bought_label_are_promised_a_look_and_no_others(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0031")
        insert = sa.text(
            "INSERT INTO order_returns (id, order_id, status, requested_by, requested_at, label_status)"
            " VALUES (:id, 'order-1', :status, 'ann@example.com', :at, :label)"
        )
        for return_id, status, label in (
            ("waiting", "APPROVED", "PURCHASED"),
            ("buying", "APPROVED", "PENDING"),  # promised its look when the purchase lands
            ("counter", "APPROVED", None),  # handed over in store: no label
            ("back", "RECEIVED", "PURCHASED"),
            ("asked", "REQUESTED", None),
        ):
            connection.execute(insert, {"id": return_id, "status": status, "at": THEN, "label": label})
        command.upgrade(alembic_config(connection), "head")
        tasks = connection.execute(sa.text("SELECT kind, key, payload, attempts, done_at FROM outbox")).all()
        command.downgrade(alembic_config(connection), "0031")
        left = connection.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one()
    engine.dispose()

    [(kind, key, payload, attempts, done_at)] = tasks
    assert (kind, json.loads(payload), attempts, done_at) == (
        RETURN_EXPIRY,
        {"return_id": "waiting"},
        0,
        None,
    )
    assert key.startswith(f"waiting:{RETURN_EXPIRY}:")
    assert left == 0
