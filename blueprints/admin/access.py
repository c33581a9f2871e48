"""Who may use the dashboard, and how the dashboard answers when they may not.

A ``before_request`` hook guards the whole blueprint, so no view can be left
open by forgetting a decorator; ``admin_required`` then narrows a view to
admins. Errors answer htmx with an alert in the page's message area and
everyone else with a dashboard error page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from blueprints.admin import bp
from blueprints.auth import sessions
from extensions import db, login_manager
from models import Comment, CommentStatus
from services import discussion, uploads
from services.errors import MESSAGES, wants_fragment

# Endpoints whose POST may carry a lead image, and the room left for the other fields.
UPLOAD_ENDPOINTS = frozenset({"admin.article_new", "admin.article_edit"})
FORM_ALLOWANCE = 512 * 1024
ADMIN_ONLY = "Only administrators can do that. Editors write and publish articles."
CSRF_MESSAGE = (
    "This form expired or was sent without its security token, so nothing was changed. Reload the page and try again."
)


@bp.url_value_preprocessor
def _raise_upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # URL value preprocessors run before every before_request hook, and CSRF
    # protection (one of those) reads the form: the larger limit must be set first.
    # Only the article form accepts images; everything else keeps the global 1 MiB.
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        request.max_content_length = uploads.max_bytes() + FORM_ALLOWANCE


def _back_to_login(message: str):
    logout_user()
    session.clear()
    if wants_fragment():
        response = alert(message, 401)
        response.headers["HX-Redirect"] = url_for("auth.login")
    else:
        flash(message, "info")
        response = redirect(url_for("auth.login"), code=302)
    sessions.end(response)
    return response


@bp.before_request
def require_staff():
    """Every dashboard URL needs a signed-in, active account whose password has not changed since."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.active:
        return _back_to_login("Your account has been disabled.")
    if not sessions.is_current(current_user):
        return _back_to_login("Your password was changed, so please sign in again.")
    return None


@bp.after_request
def _private(response):
    """Dashboard pages are per-person and change with every action: never cached, by anyone.

    The same URL answers a fragment to htmx and a page to a browser, hence the Vary.
    """
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    return response


def admin_required(view: Callable) -> Callable:
    """Admins only: editors get 403 (moderation, settings and users are not theirs)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403, description=ADMIN_ONLY)
        return view(*args, **kwargs)

    wrapped.admin_only = True  # type: ignore[attr-defined]
    return wrapped


def editor_required(view: Callable) -> Callable:
    """Any staff member (editor or admin). The blueprint guard already insists; this documents it."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapped


def alert(message: str, status: int = 400, level: str = "error"):
    """An htmx answer that shows a message in the page's alert area, whatever the request targeted."""
    response = make_response(render_template("admin/_alert.html", message=message, level=level), status)
    response.headers["HX-Retarget"] = "#admin-flash"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def error_page(code: int, message: str | None = None):
    title, default = MESSAGES.get(code, MESSAGES[500])
    message = message or default
    if wants_fragment():
        return alert(message, code)
    return render_template("admin/error.html", code=code, title=title, message=message), code


@bp.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError):
    db.session.rollback()
    return error_page(400, CSRF_MESSAGE)


@bp.errorhandler(413)
def _too_large(exc):
    limit = uploads.human_size(uploads.max_bytes())
    return error_page(413, f"That upload is too large. Images may be up to {limit}. Choose a smaller file.")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    code = exc.code or 500
    described = exc.description if exc.description and exc.description != type(exc).description else None
    return error_page(code, described)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"report_reasons": discussion.REPORT_REASONS}


@bp.app_template_global()
def admin_nav_pending() -> int:
    """Pending comments for the navigation badge (admins only; one indexed count)."""
    if not (current_user.is_authenticated and current_user.is_admin):
        return 0
    return (
        db.session.scalar(
            select(func.count()).select_from(Comment).where(Comment.status == CommentStatus.PENDING.value)
        )
        or 0
    )
