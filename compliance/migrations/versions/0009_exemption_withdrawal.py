"""An approved exemption entered by mistake can be withdrawn: it is kept, with when and why.

`member exempt` wrote exemptions no command could take back: one entered for the wrong member or
the wrong months excused them for good. As deductions and records are, an exemption is now
withdrawn by setting `voided_at` and `void_reason` (`member unexempt`); nothing is deleted.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("memberexemption", sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("memberexemption", sa.Column("void_reason", sa.String, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("memberexemption") as batch:
        batch.drop_column("void_reason")
        batch.drop_column("voided_at")
