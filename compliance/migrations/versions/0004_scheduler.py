"""The scheduler's lease and the reminder outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedulerlease",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute("INSERT INTO schedulerlease (id) VALUES (1)")
    op.create_table(
        "outboxmessage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("org.id"), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(400), nullable=False),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("body", sa.String, nullable=False),
        sa.Column("reason", sa.String(400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String, nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("org_id", "day", "channel", "recipient", name="uq_outbox_daily"),
    )


def downgrade() -> None:
    op.drop_table("outboxmessage")
    op.drop_table("schedulerlease")
