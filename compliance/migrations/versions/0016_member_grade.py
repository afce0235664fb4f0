"""Members' grades in the year's 民主评议党员 (评议等次): 优秀, 合格, 基本合格, 不合格.

A branch could log that its 民主评议 was held, not the grade it gave each member, which the
township asks for at the year's end (武组发〔2016〕113号 §二(二)4). A grade given again adds a
row and marks the one it replaces superseded; nothing is deleted.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "membergrade",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id"), nullable=False),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("org.id"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("note", sa.String(400), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_membergrade_org_year", "membergrade", ["org_id", "year"])
    op.create_index("ix_membergrade_member_year", "membergrade", ["member_id", "year"])


def downgrade() -> None:
    # Grades given are history: a downgrade stops rather than delete them.
    if op.get_bind().execute(sa.text("SELECT count(*) FROM membergrade")).scalar():
        raise RuntimeError("membergrade holds the members' grades; they are not deleted by a downgrade")
    op.drop_index("ix_membergrade_member_year", table_name="membergrade")
    op.drop_index("ix_membergrade_org_year", table_name="membergrade")
    op.drop_table("membergrade")
