"""The first schema: settings, organizations, members and versioned records.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "setting",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(400), nullable=False),
    )
    op.create_table(
        "org",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=True, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("org.id"), nullable=True),
        sa.Column("path", sa.String(1000), nullable=False, unique=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("sector", sa.String(16), nullable=True),
        sa.Column("catalog", sa.String(64), nullable=True),
        sa.Column("founded", sa.Date, nullable=True),
        sa.Column("tracked_from", sa.Date, nullable=True),
        sa.Column("dissolved", sa.Date, nullable=True),
        sa.Column("secretary", sa.String(100), nullable=True),
        sa.Column("secretary_vacant", sa.Boolean, nullable=False),
        sa.Column("has_committee", sa.Boolean, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_org_parent_id", "org", ["parent_id"])
    op.create_table(
        "member",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("org.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("group_name", sa.String(100), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("mobile", sa.Boolean, nullable=False),
        sa.Column("liaison", sa.String(100), nullable=True),
        sa.Column("joined", sa.Date, nullable=True),
        sa.Column("born", sa.Date, nullable=True),
        sa.Column("gender", sa.String(4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_member_org_name"),
    )
    op.create_index("ix_member_org_id", "member", ["org_id"])
    op.create_table(
        "record",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.Integer, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("org.id"), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id"), nullable=True),
        sa.Column("group_name", sa.String(100), nullable=True),
        sa.Column("expected", sa.Integer, nullable=True),
        sa.Column("present", sa.Integer, nullable=True),
        sa.Column("topic", sa.String(500), nullable=True),
        sa.Column("recorder", sa.String(100), nullable=True),
        sa.Column("lecturer", sa.String(100), nullable=True),
        sa.Column("secretary_signed", sa.Boolean, nullable=True),
        sa.Column("recorder_signed", sa.Boolean, nullable=True),
        sa.Column("attendees", sa.String, nullable=True),
        sa.Column("excused", sa.String, nullable=True),
        sa.Column("counterpart", sa.String(100), nullable=True),
        sa.Column("hours", sa.Float, nullable=True),
        sa.Column("photos", sa.String, nullable=True),
        sa.Column("first_recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String, nullable=True),
        sa.Column("source", sa.String(400), nullable=True),
        sa.UniqueConstraint("record_id", "version", name="uq_record_version"),
    )
    op.create_index("ix_record_org_held", "record", ["org_id", "held_on"])
    op.create_index("ix_record_identity", "record", ["identity"])
    op.create_index("ix_record_record_id", "record", ["record_id"])


def downgrade() -> None:
    op.drop_table("record")
    op.drop_table("member")
    op.drop_table("org")
    op.drop_table("setting")
