"""the instant of each campaign's last tick, idle or not: what `cascade status` and the report say
the states are as of (a tick that finds nothing due writes no `ticks` row, and a quiet week read
"as of" the last busy tick beside "last tick: 3 seconds ago"); NULL until the next tick

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.add_column(sa.Column("checked_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_column("checked_at")
