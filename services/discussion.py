"""Readers' discussion: reading threads, posting, editing and reporting comments."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, func, select, update

from extensions import db
from models import LINKBACK_KINDS, Article, Comment, CommentKind, CommentStatus, Report, utcnow
from services import comment_tree, moderation, sqlite
from services import settings as site_settings
from services.sanitize import clean_comment, strip_control

OWN_COOKIE = "gz_own"
READER_COOKIE = "gz_reader"
REMEMBER_COOKIE = "gz_commenter"
# Posting sooner than this after the form was shown is a bot, not a person.
MIN_FORM_SECONDS = 3
# A form older than this was left open too long (or replayed); ask for a fresh one.
MAX_FORM_SECONDS = 24 * 3600
# Like Isso: a commenter may fix or withdraw a comment for a short while.
EDIT_WINDOW = timedelta(minutes=10)
MAX_OWN = 50
REPORT_REASONS = {"spam": "Spam", "abuse": "Abusive or harassing", "off-topic": "Off-topic", "other": "Something else"}


class CommentError(Exception):
    """A comment that cannot be accepted; ``field`` says where to show the message."""

    def __init__(self, message: str, status: int = 400, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


# ---------------------------------------------------------------- signed values


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def issue_stamp(now: float | None = None) -> str:
    """A signed 'this form was shown at' value for the hidden ``issued`` field.

    One per request (every form on a page carries the same), so a cached page
    can swap it for a fresh one (services.page_cache)."""
    if now is not None:
        return _serializer("comment-form").dumps(int(now))
    if "gz_form_stamp" not in g:
        g.gz_form_stamp = _serializer("comment-form").dumps(int(time.time()))
    return g.gz_form_stamp


def check_stamp(value: str | None, now: float | None = None) -> None:
    now = now if now is not None else time.time()
    try:
        issued = int(_serializer("comment-form").loads(value or ""))
    except (BadSignature, TypeError, ValueError):
        raise CommentError("This form could not be verified. Please reload the page and try again.") from None
    age = now - issued
    if age < current_app.config.get("COMMENT_MIN_SECONDS", MIN_FORM_SECONDS):
        raise CommentError("That was quick! Please take a moment and submit again.", status=429)
    if age > MAX_FORM_SECONDS:
        raise CommentError("This form has expired. Please reload the page and post again.")


def own_comment_ids() -> frozenset[int]:
    """Comments this browser wrote (from the signed cookie)."""
    raw = request.cookies.get(OWN_COOKIE)
    if not raw:
        return frozenset()
    try:
        ids = _serializer("own-comments").loads(raw)
    except BadSignature:
        return frozenset()
    return frozenset(int(i) for i in ids if isinstance(i, int))


def own_cookie_value(new_id: int) -> str:
    ids = [i for i in own_comment_ids() if i != new_id]
    ids = sorted(ids)[-(MAX_OWN - 1) :] + [new_id]
    return _serializer("own-comments").dumps(ids)


# ---------------------------------------------------------------- reading


def thread_page(article: Article, page: int):
    s = site_settings.load()
    return comment_tree.build_page(
        article.id,
        page,
        s.threads_per_page,
        newest_first=s.thread_order == "newest",
        own_pending_ids=own_comment_ids(),
    )


def linkbacks_for(article: Article) -> list[Comment]:
    return list(
        db.session.scalars(
            select(Comment)
            .where(
                Comment.article_id == article.id,
                Comment.kind.in_(LINKBACK_KINDS),
                Comment.status == CommentStatus.APPROVED.value,
            )
            .order_by(Comment.created_at, Comment.id)
        )
    )


def feed_items(article: Article, limit: int) -> list[Comment]:
    """The newest approved comments and linkbacks of an article, for its comments feed."""
    return list(
        db.session.scalars(
            select(Comment)
            .where(Comment.article_id == article.id, Comment.status == CommentStatus.APPROVED.value)
            .order_by(Comment.created_at.desc(), Comment.id.desc())
            .limit(limit)
        )
    )


def comments_closed(article: Article) -> bool:
    if not article.comments_open:
        return True
    days = site_settings.load().close_after_days
    return bool(days and article.published_at and article.published_at < utcnow() - timedelta(days=days))


def reply_allowed(comment: Comment) -> bool:
    return comment.depth < site_settings.load().max_depth - 1


def refresh_counts(article_id: int) -> None:
    """Recount an article's approved comments and linkbacks and mark its discussion as
    changed (``cache_version``, ``discussion_at``; ``updated_at`` stays the time of the
    last edit), so cached pages showing it are rendered afresh. The caller commits.

    Call it after anything that changes what the article page shows of its discussion.
    """
    approved = and_(Comment.article_id == article_id, Comment.status == CommentStatus.APPROVED.value)
    comments = (
        select(func.count()).select_from(Comment).where(approved, Comment.kind == CommentKind.COMMENT.value)
    ).scalar_subquery()
    links = (
        select(func.count()).select_from(Comment).where(approved, Comment.kind.in_(LINKBACK_KINDS))
    ).scalar_subquery()
    db.session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(
            comment_count=comments,
            linkback_count=links,
            cache_version=Article.cache_version + 1,
            discussion_at=utcnow(),
            updated_at=Article.updated_at,  # a comment is not an edit of the article
        )
    )


def new_form(article: Article, parent: Comment | None = None, formdata=None):
    """A comment form, prefilled from the remember-me cookie, with a fresh time stamp."""
    from blueprints.comments.forms import CommentForm

    prefix = f"r{parent.id}" if parent else ""
    form = CommentForm(formdata=formdata, prefix=prefix)
    if formdata is None:
        remembered = remembered_commenter()
        if remembered:
            form.name.data, form.email.data, form.website.data = remembered
            form.remember.data = True
        form.issued.data = issue_stamp()
        form.parent_id.data = str(parent.id) if parent else ""
    return form


def remembered_commenter() -> tuple[str, str, str] | None:
    raw = request.cookies.get(REMEMBER_COOKIE)
    if not raw:
        return None
    try:
        name, email, url = _serializer("remember-commenter").loads(raw)
    except (BadSignature, ValueError, TypeError):
        return None
    return str(name), str(email), str(url)


def remember_cookie_value(name: str, email: str, url: str) -> str:
    return _serializer("remember-commenter").dumps([name, email, url])


# ---------------------------------------------------------------- writing


@dataclass
class Posted:
    comment: Comment
    reason: str


def _parent_for(article: Article, raw: str | None) -> Comment | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise CommentError("The comment you replied to does not exist.", status=422)
    parent = db.session.get(Comment, int(raw))
    if parent is None or parent.kind != CommentKind.COMMENT.value:
        raise CommentError("The comment you replied to does not exist.", status=422)
    if parent.article_id != article.id:
        raise CommentError("The comment you replied to belongs to another article.", status=422)
    if parent.status != CommentStatus.APPROVED.value:
        raise CommentError("Replies to comments awaiting moderation or removed are not allowed.", status=422)
    return parent


def post_comment(article: Article, form, *, ip: str, user_agent: str, staff_user=None) -> Posted:
    """Validate and store a reader's comment; raises CommentError and writes nothing on failure."""
    if comments_closed(article) and staff_user is None:
        raise CommentError("Comments are closed for this article.", status=403)
    if form.homepage.data:
        raise CommentError("Your comment could not be accepted.", status=400)
    if staff_user is None:
        check_stamp(form.issued.data)
    parent = _parent_for(article, form.parent_id.data)
    s = site_settings.load()

    name = strip_control(form.name.data or "").strip()
    email = strip_control(form.email.data or "").strip().lower()
    url = strip_control(form.website.data or "").strip()
    body = strip_control(form.body.data or "").strip()
    if not body:
        raise CommentError("Please write a comment.", field="body")
    if not name:
        raise CommentError("Please enter your name.", field="name")

    verdict = moderation.judge(s, name=name, email=email, url=url, body=body, ip=ip, staff=staff_user is not None)
    # At the maximum depth a reply is attached beside its parent, not below it.
    if parent is not None and parent.depth >= s.max_depth - 1:
        parent = parent.parent if parent.parent_id else parent
    article_id = article.id
    comment = Comment(
        article_id=article_id,
        parent_id=parent.id if parent else None,
        root_id=(parent.root_id or parent.id) if parent else None,
        depth=(parent.depth + 1) if parent else 0,
        kind=CommentKind.COMMENT.value,
        status=verdict.status,
        author_name=name[:120],
        author_email=email[:254],
        author_url=url[:500],
        user_id=staff_user.id if staff_user is not None else None,
        body_source=body,
        body_html=clean_comment(body),
        ip=ip[:45],
        user_agent=(user_agent or "")[:255],
    )
    # Everything above only read. The write lock is taken now, for the few statements
    # below; the flood and duplicate checks run under it, so two identical posts
    # racing each other cannot both get in.
    sqlite.write_next()
    now = utcnow()
    _refuse_flood_and_duplicates(article_id, name, body, ip, s.flood_seconds if staff_user is None else 0, now)
    comment.created_at = comment.updated_at = now
    db.session.add(comment)
    db.session.flush()
    if comment.status == CommentStatus.APPROVED.value:
        bump_comment_count(article_id)
    db.session.commit()
    return Posted(comment, verdict.reason)


def _refuse_flood_and_duplicates(article_id: int, name: str, body: str, ip: str, flood_seconds: int, now) -> None:
    if flood_seconds > 0 and ip:
        recent = db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.ip == ip, Comment.created_at > now - timedelta(seconds=flood_seconds))
        )
        if recent:
            raise CommentError(
                f"You are posting too quickly. Please wait {flood_seconds} seconds between comments.", status=429
            )
    duplicate = db.session.scalar(
        select(Comment.id)
        .where(
            Comment.article_id == article_id,
            Comment.author_name == name,
            Comment.body_source == body,
            Comment.status != CommentStatus.TRASH.value,
        )
        .limit(1)
    )
    if duplicate:
        raise CommentError("It looks like you've already said that.", status=409, field="body")


def bump_comment_count(article_id: int) -> None:
    """One more approved reader comment: cheaper than recounting a 10,000-comment article."""
    db.session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(
            comment_count=Article.comment_count + 1,
            cache_version=Article.cache_version + 1,
            discussion_at=utcnow(),
            updated_at=Article.updated_at,
        )
    )


def can_edit(comment: Comment) -> bool:
    """The author (by signed cookie) may edit or delete for a short while."""
    return (
        comment.id in own_comment_ids()
        and comment.kind == CommentKind.COMMENT.value
        and comment.status in (CommentStatus.APPROVED.value, CommentStatus.PENDING.value)
        and utcnow() - comment.created_at < EDIT_WINDOW
    )


def edit_comment(comment: Comment, body: str) -> None:
    body = strip_control(body or "").strip()
    if not body:
        raise CommentError("Please write a comment.", field="body")
    if len(body) > 10_000:
        raise CommentError("Comments are limited to 10,000 characters.", field="body")
    comment.body_source = body
    comment.body_html = clean_comment(body)
    refresh_counts(comment.article_id)
    db.session.commit()


def withdraw_comment(comment: Comment) -> None:
    comment.status = CommentStatus.TRASH.value
    refresh_counts(comment.article_id)
    db.session.commit()


def report_comment(comment: Comment, reporter: str, reason: str, ip: str, note: str = "") -> bool:
    """Record a report; False when this reader already reported it. Enough reports hold the comment."""
    if reason not in REPORT_REASONS:
        raise CommentError("Choose a reason for the report.", field="reason")
    already = db.session.scalar(
        select(Report.id)
        .where(Report.comment_id == comment.id, (Report.reporter == reporter) | (Report.ip == ip))
        .limit(1)
    )
    if already:
        return False
    db.session.add(Report(comment_id=comment.id, reporter=reporter, reason=reason, note=note[:500], ip=ip[:45]))
    comment.report_count = (comment.report_count or 0) + 1
    if comment.status == CommentStatus.APPROVED.value and comment.report_count >= site_settings.load().reports_to_hold:
        comment.status = CommentStatus.PENDING.value
        refresh_counts(comment.article_id)
    db.session.commit()
    return True


def count_newer(article: Article, after_id: int) -> int:
    """Approved comments on an article with an id above ``after_id``."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(
                Comment.article_id == article.id,
                Comment.kind == CommentKind.COMMENT.value,
                Comment.status == CommentStatus.APPROVED.value,
                Comment.id > after_id,
            )
        )
        or 0
    )


def newest_id(article: Article) -> int:
    """The id of the article's newest approved comment (0 when none), for the new-comments poll."""
    return (
        db.session.scalar(
            select(Comment.id)
            .where(Comment.article_id == article.id, Comment.status == CommentStatus.APPROVED.value)
            .order_by(Comment.created_at.desc(), Comment.id.desc())
            .limit(1)
        )
        or 0
    )
