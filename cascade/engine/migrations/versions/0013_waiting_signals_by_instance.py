"""an index of the signals not applied yet by their instance, earliest first: what a signal just
recorded is told (dated before the work that opens it?) reads the earliest signal waiting for
that work. Without it, a web post's question grouped every waiting signal of the campaign:
~0.7 s inside the web's one writer with a nation's 219,327 signals waiting.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

WAITING = sa.text("applied_tick IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_signals_waiting_by_instance",
        "signals",
        ["campaign_id", "task_id", "unit_id", "at"],
        unique=False,
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_signals_waiting_by_instance", table_name="signals")
