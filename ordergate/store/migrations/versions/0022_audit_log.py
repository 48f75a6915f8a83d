"""the audit trail: who changed what, when, from which request, field by field; append-only
(the database refuses an UPDATE or DELETE of an entry)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordergate.store.columns import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

POSTGRES_GUARD = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only';
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(36), primary_key=True, nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("order_id", sa.String(36), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("omitted", sa.Integer(), nullable=False),
    )
    op.create_index("ix_audit_log_occurred_at_id", "audit_log", ["occurred_at", "id"])
    op.create_index("ix_audit_log_order_id", "audit_log", ["order_id", "occurred_at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor", "occurred_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_GUARD)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index("ix_audit_log_actor", table_name="audit_log")
    op.drop_index("ix_audit_log_order_id", table_name="audit_log")
    op.drop_index("ix_audit_log_occurred_at_id", table_name="audit_log")
    op.drop_table("audit_log")
