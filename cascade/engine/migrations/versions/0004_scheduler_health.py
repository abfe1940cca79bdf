"""scheduler health: when each campaign last ticked (wall clock) and on what interval, the
watchdog's alert, and the note of the tick that holds a campaign

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.add_column(sa.Column("ticked_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("tick_interval", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stalled_alert_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "tick_holders",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("run", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tick_holders")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_column("stalled_alert_at")
        batch_op.drop_column("tick_interval")
        batch_op.drop_column("ticked_at")
