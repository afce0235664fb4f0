"""The audit log read by the thing an entry is about.

`record show --history` gives each correction's reason from the audit entry about that record,
and a member's transfer is found from the entry about the member: both read the entries of one
(entity, entity id), and with no index on them read the whole log, which grows by an entry for
each meeting logged, each import and each correction. This index finds them directly.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_auditentry_entity", "auditentry", ["entity", "entity_id"])


def downgrade() -> None:
    op.drop_index("ix_auditentry_entity", table_name="auditentry")
