"""A user can be disabled (停用): a clerk who left keeps her name in the audit log but acts no more.

Users could only be added; a township clerk who left could go on acting under her name. A
disabled user is refused as a user who does not exist is, and is listed as 停用; nothing is
deleted.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("disabled_at")
