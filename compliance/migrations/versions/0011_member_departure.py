"""A member can leave a roster (transferred out, died, expelled), from a day, with the reason, and arrive on one.

A member who left stayed on the roster for good: counted in quorums derived from the roster,
owed dues and reports, and watched for six months without taking part. `member leave` marks
the day and the reason; the member's row and records stay (records are never deleted), and
the evaluation reads the day. A member transferred in owed everything from January (or from
joining the Party): `arrived_on` is the day they came onto this roster.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("member", sa.Column("left_on", sa.Date, nullable=True))
    op.add_column("member", sa.Column("left_reason", sa.String(16), nullable=True))
    op.add_column("member", sa.Column("arrived_on", sa.Date, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("arrived_on")
        batch.drop_column("left_reason")
        batch.drop_column("left_on")
