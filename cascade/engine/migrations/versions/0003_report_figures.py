"""reports: the roll-up computed when a report was submitted, beside what the unit reported;
the campaign's issuing body (the summary's letterhead); units indexed by path (subtrees)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch_op:
        batch_op.add_column(sa.Column("computed", sa.JSON(), nullable=True))
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.add_column(sa.Column("issued_by", sa.Text(), nullable=True))
    op.create_index("ix_units_path", "units", ["campaign_id", "path"])


def downgrade() -> None:
    op.drop_index("ix_units_path", table_name="units")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_column("issued_by")
    with op.batch_alter_table("instances") as batch_op:
        batch_op.drop_column("computed")
