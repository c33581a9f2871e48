"""The audit log: who did what to which comment, article, setting or user, and when.

Every change made from the dashboard writes one ``AuditEntry`` in the same
transaction as the change itself, so the log can never claim something that
was rolled back (and nothing changes without a trace).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extensions import db
from models import Article, AuditEntry, User, utcnow

# Comment actions that take a comment off the public page; the public
# moderation log lists these (and only these).
REMOVALS = ("comment.spam", "comment.trash", "comment.delete")

LABELS = {
    "comment.approve": "Approved a comment",
    "comment.unapprove": "Unapproved a comment",
    "comment.spam": "Marked a comment as spam",
    "comment.trash": "Moved a comment to the trash",
    "comment.restore": "Restored a comment",
    "comment.dismiss": "Dismissed readers' reports",
    "comment.undo": "Undid a change to a comment",
    "comment.delete": "Deleted a comment permanently",
    "comment.edit": "Edited a comment",
    "comment.reply": "Replied to a comment",
    "article.create": "Created an article",
    "article.update": "Updated an article",
    "article.publish": "Published an article",
    "article.schedule": "Scheduled an article",
    "article.unpublish": "Unpublished an article",
    "category.create": "Added a category",
    "category.update": "Changed a category",
    "category.delete": "Deleted a category",
    "tag.create": "Added a tag",
    "tag.update": "Changed a tag",
    "tag.delete": "Deleted a tag",
    "settings.update": "Changed the discussion settings",
    "user.create": "Added a user",
    "user.password": "Reset a password",
    "user.disable": "Disabled an account",
    "user.enable": "Enabled an account",
    "user.role": "Changed a role",
    "auth.login": "Signed in",
    "auth.logout": "Signed out",
}

PUBLIC_LABELS = {
    "comment.spam": "Removed as spam",
    "comment.trash": "Removed",
    "comment.delete": "Deleted",
}


def record(
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    user: User | None = None,
    detail: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Add an entry to the session; the caller's commit stores it with the change."""
    entry = AuditEntry(
        user_id=getattr(user, "id", None),
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=json.dumps(detail or {}, sort_keys=True, default=str),
        reason=(reason or "")[:300],
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


def detail_of(entry: AuditEntry) -> dict[str, Any]:
    """The entry's detail as a dict (an empty one for anything unreadable)."""
    try:
        value = json.loads(entry.detail or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class LogPage:
    entries: list[AuditEntry]
    next_before: int | None


def entries(
    *,
    before: int | None = None,
    per_page: int = 50,
    target_type: str | None = None,
    user_id: int | None = None,
    actions: tuple[str, ...] | None = None,
) -> LogPage:
    """Newest first, paged by id (keyset): stays fast however long the log grows."""
    stmt = select(AuditEntry).options(selectinload(AuditEntry.user)).order_by(AuditEntry.id.desc())
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if user_id is not None:
        stmt = stmt.where(AuditEntry.user_id == user_id)
    if actions:
        stmt = stmt.where(AuditEntry.action.in_(actions))
    rows = list(db.session.scalars(stmt.limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return LogPage(rows, rows[-1].id if more and rows else None)


@dataclass
class PublicEntry:
    """One line of the public moderation log: nothing about the commenter."""

    when: datetime
    label: str
    reason: str
    moderator: str
    article_title: str
    article_slug: str | None


def public_removals(*, before: int | None = None, per_page: int = 50) -> tuple[list[PublicEntry], int | None]:
    """Comment removals for the public log, without names, addresses or the removed text."""
    page = entries(before=before, per_page=per_page, actions=REMOVALS)
    details = {e.id: detail_of(e) for e in page.entries}
    article_ids = {d["article_id"] for d in details.values() if isinstance(d.get("article_id"), int)}
    # Only articles readers can see are named: a draft's title is not public.
    visible = {
        row.id: (row.slug, row.title)
        for row in db.session.execute(
            select(Article.id, Article.slug, Article.title).where(Article.id.in_(article_ids), Article.visible())
        )
    }
    lines = []
    for e in page.entries:
        d = details[e.id]
        lines.append(
            PublicEntry(
                when=e.created_at,
                label=PUBLIC_LABELS.get(e.action, "Removed"),
                reason=e.reason,
                moderator=e.user.name if e.user else "A moderator",
                article_title=visible[d["article_id"]][1] if d.get("article_id") in visible else "",
                article_slug=visible[d["article_id"]][0] if d.get("article_id") in visible else None,
            )
        )
    return lines, page.next_before
