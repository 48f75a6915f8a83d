"""Revision 0014 restates storefront work still waiting in the outbox in the domain's words:
a status push names the status (not BigCommerce's id), a webhook delivery names its order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from ordergate.store.migrate import alembic_config

NOW = datetime(2026, 12, 1, tzinfo=UTC).isoformat()


def _task(task_id: str, kind: str, payload: dict[str, object], done: bool = False) -> dict[str, object]:
    return {
        "id": task_id,
        "kind": kind,
        "key": task_id,
        "payload": json.dumps(payload),
        "attempts": 0,
        "available_at": NOW,
        "done_at": NOW if done else None,
        "created_at": NOW,
    }


def test_waiting_storefront_tasks_are_restated_and_done_ones_left_alone(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0013")
        insert = sa.text(
            "INSERT INTO outbox (id, kind, key, payload, attempts, available_at, done_at, created_at)"
            " VALUES (:id, :kind, :key, :payload, :attempts, :available_at, :done_at, :created_at)"
        )
        for row in (
            _task("push", "storefront.status", {"order_id": "o-1", "status_id": 8}),
            _task("pushed", "storefront.status", {"order_id": "o-2", "status_id": 10}, done=True),
            _task("order-hook", "storefront.delivery", {"scope": "store/order/created", "resource_id": 108}),
            _task("other-hook", "storefront.delivery", {"scope": "store/product/updated", "resource_id": 5}),
            _task("erp", "erp.sales_order", {"order_id": "o-3"}),
        ):
            connection.execute(insert, row)
        command.upgrade(alembic_config(connection), "head")
        payloads = {
            task_id: json.loads(payload)
            for task_id, payload in connection.execute(sa.text("SELECT id, payload FROM outbox"))
        }
    engine.dispose()

    assert payloads == {
        "push": {"order_id": "o-1", "status": "AWAITING_PICKUP"},
        "pushed": {"order_id": "o-2", "status_id": 10},
        "order-hook": {"scope": "store/order/created", "resource_id": 108, "order_id": "108"},
        "other-hook": {"scope": "store/product/updated", "resource_id": 5, "order_id": None},
        "erp": {"order_id": "o-3"},
    }
