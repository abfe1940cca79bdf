"""delivery log, outbox claims, channel alerts, campaign operator

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.add_column(sa.Column("operator", sa.JSON(), nullable=True))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("claim", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_outbox_claim", ["claim", "digest_key"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=12), nullable=False),
        sa.Column("provider_id", sa.Text(), nullable=True),
        sa.Column("tries", sa.JSON(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("outbox_id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "channel_alerts",
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "channel"),
    )


def downgrade() -> None:
    op.drop_table("channel_alerts")
    op.drop_table("deliveries")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_claim")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claim")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_column("operator")
