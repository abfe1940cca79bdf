"""each unit's place in its units file (the tree read top-down, children in the order written):
the summary, the board, the templates and the overdue list show units in the order the province
lists them, not by their ids; NULL until the campaign is deployed again (ordered by path then)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("units") as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("units") as batch_op:
        batch_op.drop_column("position")
