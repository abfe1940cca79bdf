"""the channel alert's own delivery state: told the operator when (if ever), tries, last error

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_alerts") as batch_op:
        batch_op.add_column(sa.Column("delivered_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("delivered_by", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tries", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    # alerts recorded before this revision were told or not: nobody knows; tell them again
    op.execute("UPDATE channel_alerts SET delivered_at = NULL")


def downgrade() -> None:
    with op.batch_alter_table("channel_alerts") as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("tries")
        batch_op.drop_column("delivered_by")
        batch_op.drop_column("delivered_at")
