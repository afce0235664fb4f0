"""A dues payment registered wrongly can be corrected or withdrawn, its earlier values kept.

A payment once registered could not be changed: a wrong 交纳日期 (a month paid "too late to
count") stayed a gap for good, and a payment entered for the wrong member or month excused an
unpaid one. `dues correct` changes a payment's amount or date and `dues void` withdraws it; the
values it had before, and from when to when they stood, go to `duesversion`, so that a view of
what the database knew at an earlier moment (`--known-at`) sees them as they were then. The
payment table itself keeps one row per member and month, as the evaluation reads it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("duespayment", sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "duesversion",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(400), nullable=False),
    )
    op.create_index("ix_duesversion_member_id", "duesversion", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_duesversion_member_id", table_name="duesversion")
    op.drop_table("duesversion")
    with op.batch_alter_table("duespayment") as batch:
        batch.drop_column("corrected_at")
