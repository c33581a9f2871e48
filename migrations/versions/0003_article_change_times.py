"""When an article or its discussion last changed, indexed for the page cache.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Every cached page view asks "when did any article, or any discussion, last
change?"; with these indexes each is one index lookup however big the site is.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discussion_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_articles_updated_at", ["updated_at"])
        batch_op.create_index("ix_articles_discussion_at", ["discussion_at"])


def downgrade():
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_discussion_at")
        batch_op.drop_index("ix_articles_updated_at")
        batch_op.drop_column("discussion_at")
