"""Indexes for article-scoped comment queries; a cache version per article.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

The public pages ask "this article's approved comments/linkbacks, in order" and
"this article's top-level threads"; without article-first indexes SQLite walked
every approved comment on the site (hundreds of ms on a 1M-comment site).
``cache_version`` changes whenever anything an article page shows about its
discussion changes, so rendered pages can be cached under a key that includes it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cache_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_article_status_created", ["article_id", "status", "created_at", "id"])
        batch_op.create_index(
            "ix_comments_article_roots", ["article_id", "parent_id", "kind", "created_at", "id", "status"]
        )
        batch_op.create_index("ix_comments_article_author", ["article_id", "author_name"])


def downgrade():
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_article_author")
        batch_op.drop_index("ix_comments_article_roots")
        batch_op.drop_index("ix_comments_article_status_created")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("cache_version")
