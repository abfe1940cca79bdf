"""an extended instance's deadline as the campaign file gives it, which taking the extension
back (or correcting it to an earlier day) returns to; NULL while no extension stands

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # an extension made before this revision has none: a deploy of its file records it
    with op.batch_alter_table("instances") as batch_op:
        batch_op.add_column(sa.Column("file_deadline", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch_op:
        batch_op.drop_column("file_deadline")
