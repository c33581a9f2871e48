"""The moderation queue: tabs, search, per-row and bulk actions, inline edit and reply, undo.

With htmx every action answers only the affected row (plus the tab counts and
the live region, out of band); without JavaScript the same forms post and
redirect back to the queue (post/redirect/get).
"""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from blueprints.admin import bp
from blueprints.admin.access import admin_required, alert, error_page
from blueprints.admin.forms import CommentEditForm, ReplyForm
from blueprints.auth.sessions import safe_next
from extensions import db
from models import Article, Comment
from services import comment_admin
from services.comment_admin import ModerationError
from services.errors import wants_fragment

PER_PAGE = 20


def _back() -> str:
    """Where a no-JavaScript form returns to: the queue page it was posted from."""
    return safe_next(request.form.get("next") or request.args.get("next")) or url_for("admin.comments")


def _reason() -> str:
    reason = (request.form.get("reason") or "").strip()
    return reason if reason in comment_admin.REASONS else ""


def _fragment(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


def _row(
    comment: Comment,
    *,
    notice: str = "",
    undo: list[int] | None = None,
    error: str = "",
    status: int = 200,
    counts: bool = True,
    announce: str | None = None,
    reply: Comment | None = None,
):
    """One queue row, with the tab counts and the live region updated out of band."""
    return _fragment(
        "admin/_comment_row_response.html",
        status,
        c=comment,
        reports=comment_admin.reports_for([comment.id]).get(comment.id, []),
        notice=notice,
        undo=undo or [],
        error=error,
        reply=reply,
        back=_back(),
        counts=comment_admin.counts() if counts else None,
        announce=announce if announce is not None else (error or notice),
    )


def _gone(comment_id: int, message: str, status: int = 200):
    return _fragment(
        "admin/_comment_row_response.html",
        status,
        c=None,
        gone_id=comment_id,
        notice=message,
        error="" if status < 400 else message,
        counts=comment_admin.counts(),
        announce=message,
        back=_back(),
        reports=[],
        undo=[],
    )


def _failed(comment_id: int, err: ModerationError):
    """A refused action: the row says why (or that it is gone); nothing changed."""
    db.session.rollback()
    if not wants_fragment():
        return error_page(err.status, err.message)
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        return _gone(comment_id, err.message, err.status)
    return _row(comment, error=err.message, status=err.status)


# ---------------------------------------------------------------- the queue


def _filter_from_args() -> comment_admin.QueueFilter:
    tab = request.args.get("status", comment_admin.PENDING)
    if tab not in comment_admin.TABS:
        tab = comment_admin.PENDING
    raw_article = request.args.get("article", "")
    kind = request.args.get("kind", "")
    return comment_admin.QueueFilter(
        tab=tab,
        q=(request.args.get("q") or "").strip()[:200],
        article_id=int(raw_article) if raw_article.isdigit() and len(raw_article) < 12 else None,
        kind=kind if kind in comment_admin.KIND_FILTERS else "",
    )


def _article_choices(selected: int | None) -> list[tuple[int, str]]:
    rows = db.session.execute(select(Article.id, Article.title).order_by(Article.id.desc()).limit(100)).all()
    choices = [(r.id, r.title) for r in rows]
    if selected and selected not in {i for i, _ in choices}:
        title = db.session.scalar(select(Article.title).where(Article.id == selected))
        if title:
            choices.insert(0, (selected, title))
    return choices


@bp.get("/comments")
@admin_required
def comments():
    f = _filter_from_args()
    page = comment_admin.queue(f, older=request.args.get("older"), newer=request.args.get("newer"), per_page=PER_PAGE)
    return render_template(
        "admin/comments.html",
        f=f,
        page=page,
        counts=comment_admin.counts(),
        articles=_article_choices(f.article_id),
        reasons=comment_admin.REASONS,
        back=request.full_path.rstrip("?"),
    )


@bp.get("/comments/<int:comment_id>/row")
@admin_required
def comment_row(comment_id: int):
    """The row as it is now (used by Cancel on the inline editor)."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        return _gone(comment_id, comment_admin.GONE, 404)
    if not wants_fragment():
        return redirect(_back(), code=303)
    return _row(comment, counts=False, announce="")


# ---------------------------------------------------------------- actions


@bp.post("/comments/<int:comment_id>/moderate")
@admin_required
def comment_moderate(comment_id: int):
    action = request.form.get("action", "")
    if action not in comment_admin.ACTIONS:
        return _failed(comment_id, ModerationError("Choose what to do with the comment.", status=400))
    try:
        change = comment_admin.moderate(comment_id, action, current_user, _reason())
    except ModerationError as err:
        return _failed(comment_id, err)
    if not wants_fragment():
        flash(change.message, "success")
        return redirect(_back(), code=303)
    if change.comment is None:
        return _gone(comment_id, change.message)
    return _row(change.comment, notice=change.message, undo=[change.entry.id] if change.undoable else [])


@bp.post("/comments/bulk")
@admin_required
def comments_bulk():
    ids = [int(x) for x in request.form.getlist("ids") if x.isdigit() and len(x) < 12]
    try:
        result = comment_admin.bulk(ids, request.form.get("action", ""), current_user, _reason())
    except ModerationError as err:
        db.session.rollback()
        if wants_fragment():
            return alert(err.message, err.status)
        return error_page(err.status, err.message)
    summary = result.summary()
    if not wants_fragment():
        flash(summary, "success")
        return redirect(_back(), code=303)
    undo = [c.entry.id for c in result.changes if c.undoable]
    return _fragment(
        "admin/_bulk_response.html",
        result=result,
        reports=comment_admin.reports_for([c.comment_id for c in result.changes if c.comment]),
        summary=summary,
        undo=undo,
        counts=comment_admin.counts(),
        back=_back(),
        refused=dict(result.refused),
    )


@bp.post("/comments/undo")
@admin_required
def comments_undo():
    entries = [int(x) for x in request.form.getlist("entry") if x.isdigit() and len(x) < 12]
    try:
        changes = comment_admin.undo(entries, current_user)
    except ModerationError as err:
        db.session.rollback()
        if wants_fragment():
            return alert(err.message, err.status)
        return error_page(err.status, err.message)
    message = "Change undone." if len(changes) == 1 else f"{len(changes)} changes undone."
    if not wants_fragment():
        flash(message, "success")
        return redirect(_back(), code=303)
    if request.form.get("bulk"):
        return _fragment(
            "admin/_bulk_response.html",
            result=comment_admin.BulkResult(changes=changes),
            reports=comment_admin.reports_for([c.comment_id for c in changes]),
            summary=message,
            undo=[],
            counts=comment_admin.counts(),
            back=_back(),
            refused={},
        )
    return _row(changes[0].comment, notice=message)


# ---------------------------------------------------------------- edit and reply


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@admin_required
def comment_edit(comment_id: int):
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        return _failed(comment_id, ModerationError(comment_admin.GONE, status=404))
    form = CommentEditForm(prefix=f"edit{comment.id}")
    error = ""
    if request.method == "GET":
        form.author_name.data = comment.author_name
        form.author_email.data = comment.author_email
        form.author_url.data = comment.author_url
        form.title.data = comment.title
        form.body.data = comment.body_source
    elif form.validate():
        try:
            comment_admin.edit(
                comment,
                current_user,
                name=form.author_name.data or "",
                email=form.author_email.data or "",
                url=form.author_url.data or "",
                body=form.body.data or "",
                title=form.title.data or "",
            )
        except ModerationError as err:
            db.session.rollback()
            error = err.message
        else:
            if not wants_fragment():
                flash("Comment saved.", "success")
                return redirect(_back(), code=303)
            return _row(comment, notice="Comment saved.", counts=False)
    status = 422 if (form.errors or error) else 200
    context = {"c": comment, "form": form, "error": error, "back": _back()}
    if wants_fragment():
        return _fragment("admin/_comment_edit_row.html", status, **context)
    return render_template("admin/comment_edit.html", **context), status


@bp.route("/comments/<int:comment_id>/reply", methods=["GET", "POST"])
@admin_required
def comment_reply(comment_id: int):
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        return _failed(comment_id, ModerationError(comment_admin.GONE, status=404))
    form = ReplyForm(prefix=f"reply{comment.id}")
    error = ""
    if request.method == "POST":
        if form.validate():
            try:
                reply, approval = comment_admin.reply(
                    comment,
                    current_user,
                    form.body.data or "",
                    ip=request.remote_addr or "",
                    user_agent=request.headers.get("User-Agent", ""),
                )
            except ModerationError as err:
                db.session.rollback()
                error = err.message
            else:
                message = "Approved, and your reply is published." if approval else "Your reply is published."
                if not wants_fragment():
                    flash(message, "success")
                    return redirect(_back(), code=303)
                return _row(comment, notice=message, reply=reply)
        status = 422
    else:
        status = 200
    context = {"c": comment, "form": form, "error": error, "back": _back()}
    if not wants_fragment():
        return render_template("admin/comment_reply.html", **context), status
    response = _fragment("admin/_reply_form.html", status, **context)
    if status >= 400:
        # The form posts to the whole row; errors belong back in the form's slot.
        response.headers["HX-Retarget"] = f"#qrow-{comment.id}-slot"
        response.headers["HX-Reswap"] = "innerHTML"
    return response
