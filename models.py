"""The data model: articles, their categories and tags, people, and the discussion.

Every reader comment and every linkback (TrackBack, Pingback, Webmention) is a
row of ``comments``, told apart by ``kind``, so they share one moderation flow.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db


def utcnow() -> datetime:
    """Naive UTC now: both SQLite and PostgreSQL columns store naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class Role(enum.StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SCHEDULED = "scheduled"


class CommentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"
    TRASH = "trash"


class CommentKind(enum.StrEnum):
    COMMENT = "comment"
    TRACKBACK = "trackback"
    PINGBACK = "pingback"
    WEBMENTION = "webmention"


LINKBACK_KINDS = (CommentKind.TRACKBACK.value, CommentKind.PINGBACK.value, CommentKind.WEBMENTION.value)


def _values(e: type[enum.Enum]) -> str:
    return ", ".join(f"'{m.value}'" for m in e)


article_categories = Table(
    "article_categories",
    db.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True),
)

article_tags = Table(
    "article_tags",
    db.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({_values(Role)})", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.EDITOR.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    articles: Mapped[list[Article]] = relationship(back_populates="author")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled accounts cannot sign in
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def name(self) -> str:
        return self.display_name or self.username


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)


class Article(db.Model):
    __tablename__ = "articles"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(ArticleStatus)})", name="status"),
        CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name="published_has_date"),
        Index("ix_articles_status_published_at", "status", "published_at"),
        # "When did any article, or any discussion, last change?" (services.page_cache).
        Index("ix_articles_updated_at", "updated_at"),
        Index("ix_articles_discussion_at", "discussion_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    byline: Mapped[str] = mapped_column(String(120), default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    body_md: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    lead_image: Mapped[str | None] = mapped_column(String(255))
    lead_image_caption: Mapped[str] = mapped_column(Text, default="")
    lead_image_alt: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default=ArticleStatus.DRAFT.value)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    comments_open: Mapped[bool] = mapped_column(Boolean, default=True)
    pings_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # Denormalised approved counts, kept by services.discussion.refresh_counts(),
    # so listings never count comment rows.
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    linkback_count: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped whenever anything the article page shows of its discussion changes
    # (services.discussion.refresh_counts), with the time in discussion_at; both are
    # part of the page cache's keys.
    cache_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    discussion_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Explicit TrackBack URLs an editor asked to ping, one per line.
    ping_urls: Mapped[str] = mapped_column(Text, default="")

    author: Mapped[User | None] = relationship(back_populates="articles")
    # Loaded on demand; the pages that show them ask for them with selectinload().
    categories: Mapped[list[Category]] = relationship(secondary=article_categories, order_by="Category.name")
    tags: Mapped[list[Tag]] = relationship(secondary=article_tags, order_by="Tag.name")

    @classmethod
    def visible(cls, now=None):
        """SQL predicate: what readers may see. A scheduled article appears when its time comes.
        ``now`` may be a bind parameter, for statements built once."""
        if now is None:
            now = utcnow()
        return and_(
            or_(cls.status == ArticleStatus.PUBLISHED.value, cls.status == ArticleStatus.SCHEDULED.value),
            cls.published_at <= now,
        )

    @property
    def is_visible(self) -> bool:
        return (
            self.status in (ArticleStatus.PUBLISHED.value, ArticleStatus.SCHEDULED.value)
            and self.published_at is not None
            and self.published_at <= utcnow()
        )

    @property
    def author_name(self) -> str:
        if self.byline:
            return self.byline
        return self.author.name if self.author else "Staff"


class Comment(db.Model):
    """A reader comment or a linkback.

    ``depth`` and ``root_id`` are fixed at insert (0 and NULL for a top-level
    comment) so a page of threads is one ordered query, never a walk up the tree.
    """

    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(CommentStatus)})", name="status"),
        CheckConstraint(f"kind IN ({_values(CommentKind)})", name="kind"),
        CheckConstraint("depth >= 0", name="depth"),
        # The public thread: approved comments of one article, in order.
        Index("ix_comments_thread", "article_id", "status", "kind", "created_at", "id"),
        # The moderation queue: one status, newest first.
        Index("ix_comments_status_created", "status", "created_at", "id"),
        Index("ix_comments_ip_created", "ip", "created_at"),
        Index("ix_comments_article_source", "article_id", "source_url"),
        # Article pages: approved comments/linkbacks of one article in order (feeds, linkbacks).
        Index("ix_comments_article_status_created", "article_id", "status", "created_at", "id"),
        # An article's top-level threads, in order (covering for the thread count and page of roots).
        Index("ix_comments_article_roots", "article_id", "parent_id", "kind", "created_at", "id", "status"),
        # Duplicate detection: same author on the same article.
        Index("ix_comments_article_author", "article_id", "author_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    # The top-level comment of this one's thread (NULL for a top-level comment),
    # so one query loads whole threads.
    root_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16), default=CommentKind.COMMENT.value)
    status: Mapped[str] = mapped_column(String(16), default=CommentStatus.PENDING.value)

    author_name: Mapped[str] = mapped_column(String(120))
    author_email: Mapped[str] = mapped_column(String(254), default="")
    author_url: Mapped[str] = mapped_column(String(500), default="")
    # Staff replies made from the dashboard carry their user.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # Linkbacks: the citing page and its title.
    source_url: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(300), default="")

    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    article: Mapped[Article] = relationship()
    parent: Mapped[Comment | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    user: Mapped[User | None] = relationship()

    @property
    def is_linkback(self) -> bool:
        return self.kind in LINKBACK_KINDS


class Report(db.Model):
    """A reader's report of a comment; one per reader (by cookie id) per comment."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("comment_id", "reporter", name="uq_reports_comment_reporter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    reporter: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Setting(db.Model):
    """Site settings (discussion rules and the like) as JSON-encoded values."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AuditEntry(db.Model):
    """Who did what to which comment or article, and when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class Job(db.Model):
    """A durable background job (Webmention verification, outbound pings)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_run_at", "state", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str] = mapped_column(Text, default="")
    run_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class OutboundPing(db.Model):
    """One attempt to notify a page our article links to."""

    __tablename__ = "outbound_pings"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    target_url: Mapped[str] = mapped_column(String(500))
    protocol: Mapped[str] = mapped_column(String(16), default="")
    endpoint: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
