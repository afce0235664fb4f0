"""A ledger item can be entered by hand: a matter the supervision team found on its visit.

Every item was opened by a supervision run for a gap on the calendar, so `opened_run_id` was
required. The 整改台账 of seed 000 also holds what inspectors find on the spot (records kept
badly, a noticeboard not updated): `rectify add` opens such an item without a run.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rectification") as batch:
        batch.alter_column("opened_run_id", existing_type=sa.Integer, nullable=True)


def downgrade() -> None:
    # Items entered by hand have no run to give them: they stop the downgrade rather than being deleted.
    with op.batch_alter_table("rectification") as batch:
        batch.alter_column("opened_run_id", existing_type=sa.Integer, nullable=False)
