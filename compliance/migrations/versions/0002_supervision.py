"""Supervision: manual deductions, runs with their snapshots, the rectification ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deduction",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("org.id"), nullable=False),
        sa.Column("sheet", sa.String(64), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("self_assessed", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String, nullable=True),
    )
    op.create_index("ix_deduction_org_period", "deduction", ["org_id", "period"])
    op.create_table(
        "supervisionrun",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope_org_id", sa.Integer, sa.ForeignKey("org.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("scope_org_id", "month", "revision", name="uq_run_scope_month_revision"),
    )
    op.create_table(
        "runfinding",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("supervisionrun.id"), nullable=False),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("org.id"), nullable=False),
        sa.Column("org", sa.String(1000), nullable=False),
        sa.Column("obligation", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("member", sa.String(100), nullable=True),
        sa.Column("group_name", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("days_left", sa.Integer, nullable=True),
        sa.Column("records", sa.String(2000), nullable=False),
        sa.Column("flags", sa.String(400), nullable=False),
    )
    op.create_index("ix_runfinding_run_id", "runfinding", ["run_id"])
    op.create_table(
        "rectification",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("gap_key", sa.String(64), nullable=False),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("org.id"), nullable=False),
        sa.Column("obligation", sa.String(64), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("member", sa.String(100), nullable=True),
        sa.Column("group_name", sa.String(100), nullable=True),
        sa.Column("matter", sa.String(500), nullable=False),
        sa.Column("measure", sa.String(500), nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("responsible", sa.String(100), nullable=False),
        sa.Column("opened_run_id", sa.Integer, sa.ForeignKey("supervisionrun.id"), nullable=False),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("closed_on", sa.Date, nullable=True),
        sa.Column("close_note", sa.String, nullable=True),
        sa.Column("closed_run_id", sa.Integer, sa.ForeignKey("supervisionrun.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rectification_gap", "rectification", ["gap_key"], unique=True)


def downgrade() -> None:
    op.drop_table("rectification")
    op.drop_table("runfinding")
    op.drop_table("supervisionrun")
    op.drop_table("deduction")
