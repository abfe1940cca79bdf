"""an index of the signals not applied yet, in time order (a tick's first question: when is the
next one due?). PostgreSQL cannot read `applied_tick IS NULL ... ORDER BY at` in order from
ix_signals_pending (IS NULL is no equality to it) and sorted every pending signal each tick.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WAITING = sa.text("applied_tick IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_signals_waiting",
        "signals",
        ["campaign_id", "at"],
        unique=False,
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_signals_waiting", table_name="signals")
