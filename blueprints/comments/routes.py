"""HTTP for comments. A POST answers a fragment to htmx and a 303 to everyone else."""

from __future__ import annotations

import math
import secrets
import time
from urllib.parse import parse_qsl

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from blueprints.comments import bp
from blueprints.news.routes import article_context
from extensions import db, limiter
from models import Comment, CommentKind, CommentStatus
from services import articles as article_queries
from services import discussion, sqlite
from services import settings as site_settings
from services.errors import wants_fragment

COOKIE_AGE = 365 * 24 * 3600


def _client_ip() -> str:
    return request.remote_addr or ""


def _form_fragment(article, form, parent, status: int, **extra):
    """The form again (with errors, or a fresh reply form)."""
    response = make_response(
        render_template("comments/_form.html", article=article, form=form, parent=parent, **extra), status
    )
    response.headers["Vary"] = "HX-Request"
    if status >= 400:  # a comment form swaps nothing on success; its errors replace it
        response.headers["HX-Retarget"] = f"#reply-form-{parent.id}" if parent is not None else "#comment-form"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


def _retry_after(response, seconds: int):
    """Say in Retry-After when posting can work again (at least 1 second).

    Flask-Limiter writes its headers after the view and would raise Retry-After to the
    end of its own window (up to a minute away) although that limit was not reached. So
    its figures for this request are written here, with its window counted in only when
    it is used up, and it is told to leave this response alone."""
    try:
        limit = limiter.current_limit
        if limit is not None:
            if limit.remaining <= 0:
                seconds = max(seconds, math.ceil(limit.reset_at - time.time()))
            if current_app.config.get("RATELIMIT_HEADERS_ENABLED"):
                response.headers["X-RateLimit-Limit"] = str(limit.limit.amount)
                response.headers["X-RateLimit-Remaining"] = str(limit.remaining)
                response.headers["X-RateLimit-Reset"] = str(limit.reset_at)
            limiter.context.view_rate_limit = None
    except Exception:  # the rate-limit store is down: it writes no headers of its own either
        current_app.logger.warning("rate limit store unavailable for Retry-After")
    response.headers["Retry-After"] = str(max(1, int(seconds)))
    return response


def _error_response(article, form, parent, err: discussion.CommentError):
    if err.field and hasattr(form, err.field):
        getattr(form, err.field).errors = [err.message]
        form_error = None
    else:
        form_error = err.message
    form.issued.data = discussion.issue_stamp()  # a refused post is retried with a fresh stamp
    if wants_fragment():
        response = _form_fragment(article, form, parent, err.status, form_error=form_error)
    elif parent is not None:
        response = make_response(
            render_template(
                "comments/reply.html",
                **article_context(article, parent=parent, full=False),
                reply_form=form,
                form_error=form_error,
            ),
            err.status,
        )
    else:
        response = make_response(
            render_template("news/article.html", **article_context(article, form=form), form_error=form_error),
            err.status,
        )
    if err.retry_after:
        _retry_after(response, err.retry_after)
    return response


def _posted_prefix() -> str:
    """The field prefix of the form that posted: a reply form names its fields r<ID>-body etc."""
    return next((k[: -len("-parent_id")] for k in request.form if k.endswith("-parent_id")), "")


def _undecodable_form() -> bool:
    """True when a url-encoded body is not valid UTF-8 (werkzeug would keep the
    raw %XX escapes as text; we refuse instead of storing mojibake)."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return False
    try:
        parse_qsl(request.get_data(cache=True).decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return True
    return False


def _parent_or_none(article, form):
    raw = form.parent_id.data
    if raw and raw.isdigit():
        parent = db.session.get(Comment, int(raw))
        if parent is not None and parent.article_id == article.id:
            return parent
    return None


@bp.post("/article/<slug>/comments")
@limiter.limit("20 per minute;200 per hour", methods=["POST"])
def post(slug: str):
    sqlite.read_first()  # validation reads; the write lock is taken only to insert
    article = article_queries.get_visible(slug)
    undecodable = _undecodable_form()  # before anything parses the form
    from blueprints.comments.forms import CommentForm

    form = CommentForm(prefix=_posted_prefix())
    parent = _parent_or_none(article, form)
    if undecodable:
        err = discussion.CommentError("Your comment contains characters we could not read. Please retype it.", 422)
        return _error_response(article, form, parent, err)
    if not form.validate():
        first_error = next(iter(form.errors.values()))[0] if form.errors else None
        err = discussion.CommentError(
            "Please correct the highlighted fields." if first_error else "Please check the form.", status=422
        )
        return _error_response(article, form, parent, err)
    try:
        posted = discussion.post_comment(
            article, form, ip=_client_ip(), user_agent=request.headers.get("User-Agent", "")
        )
    except discussion.CommentError as err:
        db.session.rollback()
        return _error_response(article, form, parent, err)

    comment = posted.comment
    if wants_fragment():
        # The form stays as it is (site.js clears the comment box); the response only
        # adds the comment to its thread and updates the count and the live region.
        response = make_response(
            render_template(
                "comments/_posted.html",
                article=article,
                comment=comment,
                slot=parent,
                max_depth=site_settings.load().max_depth,
                newest_first=site_settings.load().thread_order == "newest",
                # The comment form stays on the page; its stamp was used, so it gets a new one.
                stamp=discussion.issue_stamp(),
            ),
            201,
        )
    else:
        response = redirect(url_for("news.article", slug=article.slug) + f"#comment-{comment.id}", code=303)
    response.set_cookie(
        discussion.OWN_COOKIE,
        discussion.own_cookie_value(comment.id),
        max_age=COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    # "Remember me" only with the commenter's consent (GDPR, as WordPress 4.9.6+).
    if form.remember.data:
        response.set_cookie(
            discussion.REMEMBER_COOKIE,
            discussion.remember_cookie_value(comment.author_name, comment.author_email, comment.author_url),
            max_age=COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    else:
        response.delete_cookie(discussion.REMEMBER_COOKIE)
    return response


@bp.get("/comments/<int:comment_id>/reply")
def reply(comment_id: int):
    parent = db.session.get(Comment, comment_id)
    if (
        parent is None
        or not parent.article.is_visible
        or parent.kind != CommentKind.COMMENT.value
        or parent.status != CommentStatus.APPROVED.value
    ):
        abort(404)
    article = parent.article
    form = discussion.new_form(article, parent=parent)
    if discussion.comments_closed(article):
        if wants_fragment():
            return '<p class="form-error" role="alert">Comments are closed for this article.</p>', 403
        abort(403)
    if wants_fragment():
        return _form_fragment(article, form, parent, 200)
    return render_template(
        "comments/reply.html", **article_context(article, parent=parent, full=False), reply_form=form
    )


@bp.errorhandler(CSRFError)
def csrf_expired(err: CSRFError):
    """An expired or missing token: a friendly message and a fresh form, never a bare 400."""
    message = "Your session expired, so we could not post that. Please check your comment and try again."
    slug = (request.view_args or {}).get("slug")
    article = article_queries.get_visible(slug) if slug else None
    if article is None:
        return render_template("errors/error.html", code=400, title="Session expired", message=message), 400
    from blueprints.comments.forms import CommentForm

    form = CommentForm(prefix=_posted_prefix())
    form.issued.data = discussion.issue_stamp()
    parent = _parent_or_none(article, form)
    err = discussion.CommentError(message, status=400)
    return _error_response(article, form, parent, err)


def _approved_comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status != CommentStatus.APPROVED.value or not comment.article.is_visible:
        abort(404)
    return comment


@bp.route("/comments/<int:comment_id>/report", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def report(comment_id: int):
    from blueprints.comments.forms import ReportForm

    comment = _approved_comment(comment_id)
    form = ReportForm(prefix=f"report{comment.id}")
    if request.method == "POST":
        if form.validate():
            reporter = request.cookies.get(discussion.READER_COOKIE) or secrets.token_urlsafe(16)
            try:
                fresh = discussion.report_comment(
                    comment, reporter, form.reason.data, _client_ip(), form.note.data or ""
                )
            except discussion.CommentError as err:
                db.session.rollback()
                form.reason.errors = [err.message]
            else:
                message = (
                    "Thank you. A moderator will look at this comment."
                    if fresh
                    else "You have already reported this comment."
                )
                if wants_fragment():
                    response = make_response(render_template("comments/_report_done.html", message=message))
                else:
                    response = make_response(render_template("comments/report.html", comment=comment, message=message))
                response.set_cookie(
                    discussion.READER_COOKIE,
                    reporter,
                    max_age=COOKIE_AGE,
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure,
                )
                return response
        status = 422
    else:
        status = 200
    template = "comments/_report_form.html" if wants_fragment() else "comments/report.html"
    return render_template(template, comment=comment, form=form), status


def _own_comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    if not discussion.can_edit(comment):
        abort(403)
    return comment


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit(comment_id: int):
    """The author may fix a comment for a short while after posting (signed cookie)."""
    from blueprints.comments.forms import EditForm

    comment = _own_comment(comment_id)
    form = EditForm(prefix=f"edit{comment.id}")
    status = 200
    if request.method == "GET":
        form.body.data = comment.body_source
    elif form.validate():
        try:
            held = discussion.edit_comment(comment, form.body.data, ip=_client_ip())
        except discussion.CommentError as err:
            db.session.rollback()
            form.body.errors = [err.message]
            status = err.status
        else:
            # Moderation rules apply to edits too: a held edit is said to be, in so many words.
            held_note = "Your edit is awaiting moderation."
            if wants_fragment():
                db.session.refresh(comment.article)
                return render_template(
                    "comments/_edited.html",
                    c=comment,
                    article=comment.article,
                    max_depth=site_settings.load().max_depth,
                    held=held,
                    pending_note=held_note,
                    announce=held_note if held else "Comment updated.",
                )
            if held:
                return render_template("comments/edit.html", comment=comment, form=form, message=held_note)
            return redirect(url_for("news.article", slug=comment.article.slug) + f"#comment-{comment.id}", code=303)
    if form.errors and status < 400:
        status = 422
    if not wants_fragment():
        return render_template("comments/edit.html", comment=comment, form=form), status
    response = make_response(render_template("comments/_edit_form.html", comment=comment, form=form), status)
    if status >= 400:  # the form posts to the whole comment box; errors go back on the form
        response.headers["HX-Retarget"] = f"#edit-form-{comment.id}"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


@bp.post("/comments/<int:comment_id>/delete")
def delete(comment_id: int):
    """The author withdraws their comment (within the edit window)."""
    comment = _own_comment(comment_id)
    article = comment.article
    discussion.withdraw_comment(comment)
    if wants_fragment():
        db.session.refresh(article)
        return render_template("comments/_withdrawn.html", article=article)
    return redirect(url_for("news.article", slug=article.slug) + "#comments", code=303)


@bp.get("/article/<slug>/comments")
def section(slug: str):
    """The whole discussion, for the "new comments — show" notice."""
    article = article_queries.get_visible(slug)
    if not wants_fragment():
        return redirect(url_for("news.article", slug=slug) + "#comments", code=303)
    return render_template("comments/_section.html", **article_context(article, full=False))


@bp.get("/article/<slug>/comments/new")
def new_since(slug: str):
    """How many comments arrived after the newest one the reader has (polled by htmx)."""
    article = article_queries.get_visible(slug)
    after = request.args.get("after", "0")
    if not after.isdigit():
        abort(400)
    count = discussion.count_newer(article, int(after))
    if not count:
        return "", 204
    return render_template("comments/_new_notice.html", article=article, count=count)


@bp.app_context_processor
def _own_comments() -> dict:
    """Which comments this browser may still edit (signed cookie), for _comment.html."""
    from flask import has_request_context

    from models import utcnow

    if not has_request_context():
        return {}
    return {"own_ids": discussion.own_comment_ids(), "edit_cutoff": utcnow() - discussion.EDIT_WINDOW}
