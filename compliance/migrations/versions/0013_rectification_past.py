"""A ledger item reopened keeps what it was: past bulletins show it as it stood on their day.

Reopening an item cleared its closing (`rectify reopen`), and a run that found its gap again
also gave it a new day opened: a bulletin of a month before, written again, showed an item
closed then as open, or left out one that was open then. The item's values before each
reopening are now kept in `rectificationpast`; nothing is deleted.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rectificationpast",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("rectification.id"), nullable=False),
        sa.Column("replaced_on", sa.Date, nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_run_id", sa.Integer, sa.ForeignKey("supervisionrun.id"), nullable=True),
        sa.Column("matter", sa.String(500), nullable=False),
        sa.Column("measure", sa.String(500), nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("responsible", sa.String(100), nullable=False),
        sa.Column("opened_run_id", sa.Integer, sa.ForeignKey("supervisionrun.id"), nullable=True),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("closed_on", sa.Date, nullable=True),
        sa.Column("close_note", sa.String, nullable=True),
        sa.Column("closed_run_id", sa.Integer, sa.ForeignKey("supervisionrun.id"), nullable=True),
    )
    op.create_index("ix_rectificationpast_item", "rectificationpast", ["item_id", "replaced_on"])


def downgrade() -> None:
    # What reopened items were is history: a downgrade stops rather than delete it.
    if op.get_bind().execute(sa.text("SELECT count(*) FROM rectificationpast")).scalar():
        raise RuntimeError("rectificationpast holds the ledger's history; it is not deleted by a downgrade")
    op.drop_index("ix_rectificationpast_item", table_name="rectificationpast")
    op.drop_table("rectificationpast")
