"""Moderating comments and linkbacks from the dashboard.

Every change here writes an ``AuditEntry`` (recording the status before and
after, which is what makes Undo possible) and recounts the article's approved
comments with ``discussion.refresh_counts``, in the same transaction.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.orm import selectinload

from extensions import db
from models import LINKBACK_KINDS, AuditEntry, Comment, CommentKind, CommentStatus, Report, User, utcnow
from services import audit, discussion
from services.sanitize import clean_comment, strip_control

PENDING, APPROVED, SPAM, TRASH = (s.value for s in CommentStatus)
STATUSES = (PENDING, APPROVED, SPAM, TRASH)
TABS = (*STATUSES, "reported")
KINDS = tuple(k.value for k in CommentKind)
KIND_FILTERS = (*KINDS, "linkback")  # "linkback": trackbacks, pingbacks and webmentions together

# action -> the status it moves a comment to ("restore" is worked out per comment).
STATUS_ACTIONS = {"approve": APPROVED, "unapprove": PENDING, "spam": SPAM, "trash": TRASH}
ACTIONS = (*STATUS_ACTIONS, "restore", "dismiss", "delete")
DONE = {
    APPROVED: "Approved.",
    PENDING: "Unapproved: waiting for moderation.",
    SPAM: "Marked as spam.",
    TRASH: "Moved to the trash.",
}
# What the public moderation log says when a moderator gives no reason.
DEFAULT_REASONS = {"spam": "Spam", "trash": "Removed by a moderator", "delete": "Deleted by a moderator"}
REASONS = ("Spam", "Off-topic", "Abusive or harassing", "Personal information", "Duplicate", "Other")
# Long enough to notice a slip and click Undo, short enough that a stale page
# cannot undo someone else's later decision (the status must still match too).
UNDO_WINDOW = timedelta(minutes=10)
# A bulk request acts on one page of the queue; more than this is not a person clicking.
MAX_BULK = 200
MAX_BODY = 10_000


class ModerationError(Exception):
    """An action that cannot be done; nothing was changed. ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message = message
        self.status = status


GONE = "This comment no longer exists: it was deleted permanently."


@dataclass
class Change:
    """The outcome of one action on one comment."""

    comment_id: int
    article_id: int
    action: str
    before: str
    after: str | None
    comment: Comment | None = None
    entry: AuditEntry | None = None

    @property
    def changed(self) -> bool:
        return self.entry is not None

    @property
    def message(self) -> str:
        if self.after is None:
            return "Deleted permanently."
        if not self.changed:
            return f"Already {self.after if self.after != PENDING else 'pending'}; nothing to do."
        if self.action == "undo":
            return "Change undone."
        if self.action == "dismiss":
            return "Reports dismissed; the comment stays."
        return DONE[self.after]

    @property
    def undoable(self) -> bool:
        return self.changed and self.after is not None and self.action != "undo"


# ---------------------------------------------------------------- reading


def get(comment_id: int) -> Comment:
    """The comment, or a 404 ModerationError when it was deleted (e.g. acted on twice)."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise ModerationError(GONE, status=404)
    return comment


def counts() -> dict[str, int]:
    """Comments per tab. One grouped COUNT over the status index, one for reported."""
    result = dict.fromkeys(TABS, 0)
    for status, n in db.session.execute(select(Comment.status, func.count()).group_by(Comment.status)):
        result[status] = n
    result["reported"] = (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.status.in_((PENDING, APPROVED)), Comment.report_count > 0)
        )
        or 0
    )
    return result


@dataclass
class QueueFilter:
    tab: str = PENDING
    q: str = ""
    article_id: int | None = None
    kind: str = ""

    def as_args(self) -> dict[str, str | int]:
        args: dict[str, str | int] = {"status": self.tab}
        if self.q:
            args["q"] = self.q
        if self.article_id:
            args["article"] = self.article_id
        if self.kind:
            args["kind"] = self.kind
        return args


@dataclass
class QueuePage:
    items: list[Comment]
    reports: dict[int, list[Report]]
    older: str | None = None
    newer: str | None = None


def encode_cursor(comment: Comment) -> str:
    return f"{comment.created_at.strftime('%Y%m%dT%H%M%S.%f')}_{comment.id}"


def decode_cursor(raw: str | None) -> tuple[datetime, int] | None:
    """A cursor from the query string, or None when absent or malformed."""
    if not raw or len(raw) > 40 or "_" not in raw:
        return None
    when, _, ident = raw.partition("_")
    try:
        return datetime.strptime(when, "%Y%m%dT%H%M%S.%f"), int(ident)
    except ValueError:
        return None


def _looks_like_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return all(ch in "0123456789abcdefABCDEF.:" for ch in text) and any(ch in ".:" for ch in text)
    return True


def _filtered(f: QueueFilter):
    stmt = select(Comment)
    if f.tab == "reported":
        stmt = stmt.where(Comment.status.in_((PENDING, APPROVED)), Comment.report_count > 0)
    else:
        stmt = stmt.where(Comment.status == f.tab)
    if f.article_id:
        stmt = stmt.where(Comment.article_id == f.article_id)
    if f.kind in KINDS:
        stmt = stmt.where(Comment.kind == f.kind)
    elif f.kind == "linkback":
        stmt = stmt.where(Comment.kind.in_(LINKBACK_KINDS))
    if f.q:
        q = f.q
        terms = [
            Comment.body_source.icontains(q, autoescape=True),
            Comment.author_name.icontains(q, autoescape=True),
            Comment.author_email.icontains(q, autoescape=True),
            Comment.author_url.icontains(q, autoescape=True),
            Comment.title.icontains(q, autoescape=True),
        ]
        if _looks_like_ip(q):
            terms.append(Comment.ip.startswith(q, autoescape=True))
        stmt = stmt.where(or_(*terms))
    return stmt


def queue(f: QueueFilter, *, older: str | None = None, newer: str | None = None, per_page: int = 20) -> QueuePage:
    """One page of the moderation queue, newest first.

    Keyset pagination on (created_at, id), which the index
    ``ix_comments_status_created`` (status, created_at, id) serves directly: page
    5,000 of 100,000 comments costs the same as page 1, and no COUNT(*) is needed.
    """
    stmt = _filtered(f).options(selectinload(Comment.article), selectinload(Comment.parent), selectinload(Comment.user))
    key = tuple_(Comment.created_at, Comment.id)
    newer_cursor = decode_cursor(newer)
    older_cursor = decode_cursor(older)
    if newer_cursor is not None:
        rows = list(
            db.session.scalars(
                stmt.where(key > tuple_(*newer_cursor))
                .order_by(Comment.created_at.asc(), Comment.id.asc())
                .limit(per_page + 1)
            )
        )
        has_newer = len(rows) > per_page
        items = list(reversed(rows[:per_page]))
        has_older = True
    else:
        if older_cursor is not None:
            stmt = stmt.where(key < tuple_(*older_cursor))
        rows = list(db.session.scalars(stmt.order_by(Comment.created_at.desc(), Comment.id.desc()).limit(per_page + 1)))
        has_older = len(rows) > per_page
        items = rows[:per_page]
        has_newer = older_cursor is not None
    page = QueuePage(items=items, reports=reports_for([c.id for c in items]))
    if items:
        page.older = encode_cursor(items[-1]) if has_older else None
        page.newer = encode_cursor(items[0]) if has_newer else None
    return page


def reports_for(ids: list[int]) -> dict[int, list[Report]]:
    """Readers' reports of these comments, oldest first."""
    grouped: dict[int, list[Report]] = defaultdict(list)
    if ids:
        rows = db.session.scalars(
            select(Report).where(Report.comment_id.in_(ids)).order_by(Report.created_at, Report.id)
        )
        for r in rows:
            grouped[r.comment_id].append(r)
    return dict(grouped)


# ---------------------------------------------------------------- changing status


def _article_detail(comment: Comment) -> dict:
    a = comment.article
    return {"article_id": a.id, "article_title": a.title, "article_slug": a.slug, "kind": comment.kind}


def _restore_target(comment: Comment) -> str:
    """Where a spammed or trashed comment came from (WordPress restores the old status)."""
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.target_type == "comment",
            AuditEntry.target_id == comment.id,
            AuditEntry.action.in_(("comment.spam", "comment.trash", "comment.undo")),
        )
        .order_by(AuditEntry.id.desc())
        .limit(5)
    )
    for entry in entries:
        d = audit.detail_of(entry)
        if d.get("to") == comment.status and d.get("from") in (PENDING, APPROVED):
            return d["from"]
    return PENDING


def _move(comment: Comment, action: str, user: User | None, reason: str = "") -> Change:
    """Change one comment's status and log it; no commit, no recount."""
    before = comment.status
    if action == "restore":
        if before not in (SPAM, TRASH):
            raise ModerationError("Only comments in the spam or the trash can be restored.")
        after = _restore_target(comment)
    elif action == "dismiss":
        if not comment.report_count:
            raise ModerationError("This comment has no reports to dismiss.")
        after = before
    elif action in STATUS_ACTIONS:
        after = STATUS_ACTIONS[action]
    else:
        raise ModerationError("Unknown action.", status=400)
    # Approving (or dismissing) is the moderator's answer to readers' reports: they
    # are cleared, or the next single report would take the comment down again.
    clears_reports = action in ("approve", "dismiss") and comment.report_count > 0
    if before == after and not clears_reports:
        return Change(comment.id, comment.article_id, action, before, after, comment)
    detail = {"from": before, "to": after, **_article_detail(comment)}
    if clears_reports:
        detail["reports"] = comment.report_count
        comment.report_count = 0
    comment.status = after
    comment.updated_at = utcnow()
    entry = audit.record(
        f"comment.{action}",
        "comment",
        comment.id,
        user=user,
        detail=detail,
        reason=reason or DEFAULT_REASONS.get(action, ""),
    )
    return Change(comment.id, comment.article_id, action, before, after, comment, entry)


def moderate(comment_id: int, action: str, user: User | None, reason: str = "") -> Change:
    """Approve, unapprove, spam, trash, restore or delete one comment, and commit."""
    comment = get(comment_id)
    if action == "delete":
        return delete_permanently(comment, user, reason)
    change = _move(comment, action, user, reason)
    if change.changed:
        db.session.flush()
        discussion.refresh_counts(comment.article_id)
        db.session.commit()
    return change


@dataclass
class BulkResult:
    changes: list[Change] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.changed or c.after is None]

    def summary(self) -> str:
        n = len(self.changed)
        parts = [f"{n} comment{'s' if n != 1 else ''} changed."]
        if self.missing:
            parts.append(f"{len(self.missing)} no longer existed.")
        if self.refused:
            parts.append(f"{len(self.refused)} skipped: {self.refused[0][1]}")
        return " ".join(parts)


def bulk(ids: list[int], action: str, user: User | None, reason: str = "") -> BulkResult:
    """One action on many comments, in one transaction, one recount per article."""
    if action not in ACTIONS:
        raise ModerationError("Choose an action to apply.", status=400)
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ModerationError("Select at least one comment first.", status=422)
    if len(ids) > MAX_BULK:
        raise ModerationError(f"Select at most {MAX_BULK} comments at a time.", status=422)
    comments = {
        c.id: c
        for c in db.session.scalars(select(Comment).options(selectinload(Comment.article)).where(Comment.id.in_(ids)))
    }
    result = BulkResult(missing=[i for i in ids if i not in comments])
    articles: set[int] = set()
    for cid in ids:
        comment = comments.get(cid)
        if comment is None:
            continue
        try:
            change = _delete(comment, user, reason) if action == "delete" else _move(comment, action, user, reason)
        except ModerationError as err:
            result.refused.append((cid, err.message))
            continue
        result.changes.append(change)
        if change.changed or change.after is None:
            articles.add(change.article_id)
    db.session.flush()
    for article_id in sorted(articles):
        discussion.refresh_counts(article_id)
    db.session.commit()
    return result


def undo(entry_ids: list[int], user: User | None) -> list[Change]:
    """Put comments back to the status an audit entry moved them from.

    Refused when the entry is too old, is not a status change, or when the
    comment has changed again since (someone else decided in the meantime).
    """
    entry_ids = list(dict.fromkeys(entry_ids))[:MAX_BULK]
    if not entry_ids:
        raise ModerationError("Nothing to undo.", status=422)
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.id.in_(entry_ids))))
    changes: list[Change] = []
    articles: set[int] = set()
    now = utcnow()
    for entry in entries:
        d = audit.detail_of(entry)
        if entry.target_type != "comment" or d.get("from") not in STATUSES or d.get("to") not in STATUSES:
            continue
        if now - entry.created_at > UNDO_WINDOW:
            if len(entry_ids) == 1:
                raise ModerationError("That change is too old to undo. Change the status directly.")
            continue
        comment = db.session.get(Comment, entry.target_id)
        if comment is None:
            if len(entry_ids) == 1:
                raise ModerationError(GONE, status=404)
            continue
        if comment.status != d["to"]:
            if len(entry_ids) == 1:
                raise ModerationError("This comment has been changed since, so that can no longer be undone.")
            continue
        comment.status = d["from"]
        if isinstance(d.get("reports"), int):
            comment.report_count = d["reports"]
        comment.updated_at = now
        new_entry = audit.record(
            "comment.undo",
            "comment",
            comment.id,
            user=user,
            detail={"from": d["to"], "to": d["from"], "undoes": entry.id, **_article_detail(comment)},
        )
        changes.append(Change(comment.id, comment.article_id, "undo", d["to"], d["from"], comment, new_entry))
        articles.add(comment.article_id)
    if not changes:
        raise ModerationError("Nothing could be undone: those comments have changed since.")
    db.session.flush()
    for article_id in sorted(articles):
        discussion.refresh_counts(article_id)
    db.session.commit()
    return changes


# ---------------------------------------------------------------- deleting


def _delete(comment: Comment, user: User | None, reason: str = "") -> Change:
    # Deleting cannot be undone, so (as in WordPress) only what is already in the
    # spam or the trash can be deleted: two deliberate steps, never one slip.
    if comment.status not in (SPAM, TRASH):
        raise ModerationError("Move the comment to the spam or the trash before deleting it permanently.")
    # In a bulk delete an earlier deletion may have moved this comment up a level.
    db.session.flush()
    db.session.refresh(comment, ["parent_id", "root_id", "depth"])
    before, cid, article_id = comment.status, comment.id, comment.article_id
    entry = audit.record(
        "comment.delete",
        "comment",
        cid,
        user=user,
        detail={"from": before, "to": None, **_article_detail(comment)},
        reason=reason or DEFAULT_REASONS["delete"],
    )
    _lift_replies(comment)
    db.session.flush()
    db.session.expunge(comment)
    db.session.execute(delete(Comment).where(Comment.id == cid))
    return Change(cid, article_id, "delete", before, None, None, entry)


def delete_permanently(comment: Comment, user: User | None, reason: str = "") -> Change:
    """Delete a spam or trashed comment for good; its replies move up to its parent."""
    article_id = comment.article_id
    change = _delete(comment, user, reason)
    discussion.refresh_counts(article_id)
    db.session.commit()
    return change


def _lift_replies(comment: Comment) -> None:
    """Attach the comment's replies to its parent, fixing depth and root of the subtree.

    The foreign key would cascade the delete to every reply; WordPress moves them
    up a level instead, so other readers' words are not lost with the one removed.
    """
    root = comment.root_id or comment.id
    rows = db.session.execute(
        select(Comment.id, Comment.parent_id).where(or_(Comment.root_id == root, Comment.id == root))
    ).all()
    children: dict[int, list[int]] = defaultdict(list)
    for cid, parent_id in rows:
        if parent_id is not None:
            children[parent_id].append(cid)
    if not children.get(comment.id):
        return
    top_level = comment.parent_id is None
    for child in children[comment.id]:
        new_root = None if top_level else comment.root_id
        db.session.execute(
            update(Comment)
            .where(Comment.id == child)
            .values(parent_id=comment.parent_id, root_id=new_root, depth=Comment.depth - 1)
        )
        stack = list(children.get(child, []))
        while stack:
            cid = stack.pop()
            values = {"depth": Comment.depth - 1}
            if top_level:
                values["root_id"] = child
            db.session.execute(update(Comment).where(Comment.id == cid).values(**values))
            stack.extend(children.get(cid, []))


# ---------------------------------------------------------------- editing and replying


def edit(comment: Comment, user: User | None, *, name: str, email: str, url: str, body: str, title: str = "") -> None:
    """Change a comment's text and author fields; the body is cleaned again."""
    name = strip_control(name or "").strip()
    body = strip_control(body or "").strip()
    if not name:
        raise ModerationError("The author's name cannot be empty.", status=422)
    if not body:
        raise ModerationError("The comment cannot be empty.", status=422)
    if len(body) > MAX_BODY:
        raise ModerationError(f"Comments are limited to {MAX_BODY:,} characters.", status=422)
    changed = []
    new = {
        "author_name": name[:120],
        "author_email": strip_control(email or "").strip().lower()[:254],
        "author_url": strip_control(url or "").strip()[:500],
        "body_source": body,
    }
    if comment.is_linkback:
        new["title"] = strip_control(title or "").strip()[:300]
    for key, value in new.items():
        if getattr(comment, key) != value:
            changed.append(key)
            setattr(comment, key, value)
    # Re-cleaned even when unchanged: the safelist may have tightened since it was stored.
    comment.body_html = clean_comment(body)
    comment.updated_at = utcnow()
    audit.record(
        "comment.edit", "comment", comment.id, user=user, detail={"fields": changed, **_article_detail(comment)}
    )
    discussion.refresh_counts(comment.article_id)  # the article page shows the new text at once
    db.session.commit()


def reply(parent: Comment, user: User, body: str, *, ip: str, user_agent: str) -> tuple[Comment, Change | None]:
    """Publish a staff reply under a comment; a pending comment is approved first.

    Replies to unapproved comments are not allowed on the public site, so
    answering one from the queue approves it (WordPress's "Approve and Reply").
    """
    if parent.kind != CommentKind.COMMENT.value:
        raise ModerationError("Only comments can be replied to, not linkbacks.", status=422)
    if parent.status in (SPAM, TRASH):
        raise ModerationError("Restore the comment before replying to it.")
    approval = _move(parent, "approve", user) if parent.status == PENDING else None
    form = SimpleNamespace(
        name=SimpleNamespace(data=user.name),
        email=SimpleNamespace(data=user.email or ""),
        website=SimpleNamespace(data=""),
        body=SimpleNamespace(data=body),
        homepage=SimpleNamespace(data=""),
        issued=SimpleNamespace(data=""),
        parent_id=SimpleNamespace(data=str(parent.id)),
    )
    if len((body or "").strip()) > MAX_BODY:
        raise ModerationError(f"Replies are limited to {MAX_BODY:,} characters.", status=422)
    try:
        # post_comment commits the approval above together with the reply.
        posted = discussion.post_comment(parent.article, form, ip=ip, user_agent=user_agent, staff_user=user)
    except discussion.CommentError as err:
        db.session.rollback()
        raise ModerationError(err.message, status=err.status) from None
    if approval is not None:
        discussion.refresh_counts(parent.article_id)
    audit.record(
        "comment.reply",
        "comment",
        posted.comment.id,
        user=user,
        detail={"parent_id": parent.id, **_article_detail(posted.comment)},
    )
    db.session.commit()
    return posted.comment, approval
