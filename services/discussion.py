"""Readers' discussion: reading threads, posting, editing and reporting comments."""

from __future__ import annotations

import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, func, select, update

from extensions import db, limiter
from models import LINKBACK_KINDS, Article, Comment, CommentKind, CommentStatus, Report, utcnow
from services import comment_tree, moderation, sqlite
from services import settings as site_settings
from services.sanitize import clean_comment, comparable_text, name_problem, normalise_name, strip_control

log = logging.getLogger(__name__)

OWN_COOKIE = "gz_own"
READER_COOKIE = "gz_reader"
REMEMBER_COOKIE = "gz_commenter"
# Posting sooner than this after the form was shown is a bot, not a person.
MIN_FORM_SECONDS = 3
# A form older than this was left open too long (or replayed); ask for a fresh one.
MAX_FORM_SECONDS = 24 * 3600
# Each form stamp carries a random nonce and is good for one accepted comment: the nonce
# is remembered as used (in the rate-limit store, Redis when shared) for as long as the
# stamp itself could be valid. Refused posts do not use it up.
STAMP_USES = "1 per day"
STAMP_SCOPE = "gazette-stamp"
# Duplicate detection compares normalised text in Python against this many of the
# author's most recent comments on the article (an exact repeat is also found further back).
DUPLICATE_WINDOW = 50
# Like Isso: a commenter may fix or withdraw a comment for a short while.
EDIT_WINDOW = timedelta(minutes=10)
MAX_OWN = 50
REPORT_REASONS = {"spam": "Spam", "abuse": "Abusive or harassing", "off-topic": "Off-topic", "other": "Something else"}


class CommentError(Exception):
    """A comment that cannot be accepted; ``field`` says where to show the message."""

    def __init__(self, message: str, status: int = 400, field: str | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        # Seconds until trying again can succeed (the Retry-After of a 429).
        self.retry_after = retry_after


# What a comment refused outright is told (a filled honeypot, blocked words in an edit):
# no hint of which rule it broke.
REFUSED = "Your comment could not be accepted."


# ---------------------------------------------------------------- signed values


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def issue_stamp(now: float | None = None) -> str:
    """A signed 'this form was shown at' value for the hidden ``issued`` field, with a
    random nonce that makes it good for one comment (see ``STAMP_USES``).

    One per request (every form on a page carries the same), so a cached page
    can swap it for a fresh one (services.page_cache)."""
    if now is not None:
        return _serializer("comment-form").dumps([int(now), secrets.token_urlsafe(16)])
    if "gz_form_stamp" not in g:
        g.gz_form_stamp = _serializer("comment-form").dumps([int(time.time()), secrets.token_urlsafe(16)])
    return g.gz_form_stamp


def check_stamp(value: str | None, now: float | None = None) -> str:
    """Refuse a forged, too quick, expired or already used stamp; return its nonce."""
    now = now if now is not None else time.time()
    try:
        issued, nonce = _serializer("comment-form").loads(value or "")
        issued = int(issued)
        if not isinstance(nonce, str) or not nonce:
            raise ValueError(nonce)
    except (BadSignature, TypeError, ValueError):
        raise CommentError("This form could not be verified. Please reload the page and try again.") from None
    age = now - issued
    min_seconds = current_app.config.get("COMMENT_MIN_SECONDS", MIN_FORM_SECONDS)
    if age < min_seconds:
        # The form comes back with a fresh stamp, which needs the whole minimum again.
        raise CommentError(
            "That was quick! Please take a moment and submit again.",
            status=429,
            retry_after=max(1, math.ceil(min_seconds)),
        )
    if age > MAX_FORM_SECONDS:
        raise CommentError("This form has expired. Please reload the page and post again.")
    if _stamp_used(nonce):
        raise _used_stamp()
    return nonce


def _used_stamp() -> CommentError:
    return CommentError(
        "This form was already used to post a comment. Please check your comment and post it again.", status=422
    )


def _stamp_store():
    """The rate-limit store's strategy object, where used stamps are remembered.

    The stamp rule is an anti-bot rule, not a rate limit, so it holds when rate limits
    are switched off (``RATELIMIT_ENABLED``): then it keeps its own handle on the same
    storage (``RATELIMIT_STORAGE_URI``: Redis when shared, in-process memory otherwise)."""
    if current_app.config.get("RATELIMIT_ENABLED") and limiter.initialized:
        return limiter.limiter
    store = current_app.extensions.get("gazette_stamps")
    if store is None:
        from limits.storage import storage_from_string
        from limits.strategies import FixedWindowRateLimiter

        uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
        store = current_app.extensions["gazette_stamps"] = FixedWindowRateLimiter(storage_from_string(uri))
    return store


def _stamp_used(nonce: str) -> bool:
    from limits import parse

    try:
        return not _stamp_store().test(parse(STAMP_USES), STAMP_SCOPE, nonce)
    except Exception:  # the store is down: fail open, as flask-limiter does for views
        log.warning("form stamp store unavailable")
        return False


def _claim_stamp(nonce: str) -> None:
    """Record the stamp as used, atomically: of two posts racing with one stamp, one gets in."""
    from limits import parse

    try:
        claimed = _stamp_store().hit(parse(STAMP_USES), STAMP_SCOPE, nonce)
    except Exception:
        log.warning("form stamp store unavailable")
        return
    if not claimed:
        raise _used_stamp()


def _release_stamp(nonce: str) -> None:
    """The post was not stored after all: the stamp may be used again."""
    from limits import parse

    try:
        _stamp_store().clear(parse(STAMP_USES), STAMP_SCOPE, nonce)
    except Exception:
        log.warning("form stamp store unavailable")


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
        raise CommentError(REFUSED, status=400)
    nonce = check_stamp(form.issued.data) if staff_user is None else None
    parent = _parent_for(article, form.parent_id.data)
    s = site_settings.load()

    if staff_user is None:
        name = normalise_name(form.name.data or "").strip()
    else:
        name = strip_control(form.name.data or "").strip()
    email = strip_control(form.email.data or "").strip().lower()
    url = strip_control(form.website.data or "").strip()
    body = strip_control(form.body.data or "").strip()
    if not body:
        raise CommentError("Please write a comment.", field="body")
    if not name:
        raise CommentError("Please enter your name.", field="name")
    if staff_user is None and (problem := name_problem(name)):
        raise CommentError(problem, status=422, field="name")

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
    _refuse_flood(ip, s.flood_seconds if staff_user is None else 0, now)
    _refuse_duplicate(article_id, name, body)
    if nonce is not None:
        _claim_stamp(nonce)  # last: only a comment that is stored uses up its form
    try:
        comment.created_at = comment.updated_at = now
        db.session.add(comment)
        db.session.flush()
        if comment.status == CommentStatus.APPROVED.value:
            bump_comment_count(article_id)
        db.session.commit()
    except BaseException:
        if nonce is not None:
            _release_stamp(nonce)
        raise
    return Posted(comment, verdict.reason)


def _refuse_flood(ip: str, flood_seconds: int, now) -> None:
    """One comment per address per ``flood_seconds``; the refusal says when the next may come."""
    if flood_seconds <= 0 or not ip:
        return
    interval = timedelta(seconds=flood_seconds)
    latest = db.session.scalar(
        select(func.max(Comment.created_at)).where(Comment.ip == ip, Comment.created_at > now - interval)
    )
    if latest is not None:
        wait = math.ceil((latest + interval - now).total_seconds())
        raise CommentError(
            f"You are posting too quickly. Please wait {flood_seconds} seconds between comments.",
            status=429,
            retry_after=max(1, wait),
        )


def _refuse_duplicate(article_id: int, name: str, body: str, exclude_id: int | None = None) -> None:
    """Refuse a comment that says again what its author already said on this article.

    Texts are compared in their ``comparable_text`` form (case, width, spacing and
    zero-width characters ignored). No column holds that form, so the author's most
    recent ``DUPLICATE_WINDOW`` comments on the article are read (through the
    article/author index) and compared here; an exact repeat further back is still
    found by the database, as it always was.
    """
    same_author = [
        Comment.article_id == article_id,
        Comment.author_name == name,
        Comment.status != CommentStatus.TRASH.value,
    ]
    if exclude_id is not None:
        same_author.append(Comment.id != exclude_id)
    recent = db.session.scalars(
        select(Comment.body_source).where(*same_author).order_by(Comment.id.desc()).limit(DUPLICATE_WINDOW)
    ).all()
    said = comparable_text(body)
    duplicate = any(comparable_text(earlier or "") == said for earlier in recent)
    if not duplicate and len(recent) == DUPLICATE_WINDOW:
        duplicate = bool(
            db.session.scalar(select(Comment.id).where(*same_author, Comment.body_source == body).limit(1))
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


def edit_comment(comment: Comment, body: str, *, ip: str) -> bool:
    """The author's new text, judged by the rules a new comment meets (``moderation.judge``
    and duplicate detection). Returns True when the edited comment awaits moderation.

    Text a new comment would be binned as spam for is refused and the comment stays as
    it was; text that would be held sends the comment back to the queue. An edit never
    releases a held comment: only a moderator does.
    """
    body = strip_control(body or "").strip()
    if not body:
        raise CommentError("Please write a comment.", field="body")
    if len(body) > 10_000:
        raise CommentError("Comments are limited to 10,000 characters.", field="body")
    verdict = moderation.judge(
        site_settings.load(),
        name=comment.author_name,
        email=comment.author_email,
        url=comment.author_url,
        body=body,
        ip=ip,
        staff=comment.user_id is not None,
    )
    if verdict.status == CommentStatus.SPAM.value:
        raise CommentError(REFUSED, status=422, field="body")
    _refuse_duplicate(comment.article_id, comment.author_name, body, exclude_id=comment.id)
    if verdict.status == CommentStatus.PENDING.value:
        comment.status = CommentStatus.PENDING.value
    comment.body_source = body
    comment.body_html = clean_comment(body)
    refresh_counts(comment.article_id)  # the count and the cache version follow a status change
    db.session.commit()
    return comment.status == CommentStatus.PENDING.value


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
