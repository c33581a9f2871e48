"""Sign in and sign out.

Failed sign-ins are rate-limited twice: per client address (someone guessing
many accounts) and per username (many addresses guessing one account). Only
failures count, so a busy office behind one address can still sign in.
"""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from blueprints.auth import bp, sessions
from blueprints.auth.forms import LoginForm
from extensions import db, limiter, login_manager
from models import User
from services import audit
from services.errors import wants_fragment

LIMIT_PER_ADDRESS = "20 per 10 minutes"
LIMIT_PER_ACCOUNT = "5 per 15 minutes"
# Compared against when the username does not exist, so a wrong username takes
# as long as a wrong password and response times do not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not a real password")


def _account_key() -> str:
    return "login:" + (request.form.get("username") or "").strip().lower()[:64]


def _failed(response) -> bool:
    return response.status_code != 303


@bp.record_once
def _configure_login(state) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to use the dashboard."
    login_manager.login_message_category = "info"
    login_manager.unauthorized_handler(_unauthorized)


def _unauthorized():
    """Anonymous visitors go to the sign-in page; an htmx request asks the page to go there."""
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    login_url = url_for("auth.login", next=sessions.safe_next(target))
    if wants_fragment():
        response = make_response('<p class="alert alert--error" role="alert">Your session has ended.</p>', 401)
        response.headers["HX-Redirect"] = login_url
        return response
    flash(login_manager.login_message, "info")
    return redirect(login_url, code=302)


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _find_user(username: str) -> User | None:
    username = username.strip()
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()).limit(1))
    return user


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    LIMIT_PER_ADDRESS,
    methods=["POST"],
    deduct_when=_failed,
    error_message="Too many failed sign-ins from your network. Wait 10 minutes and try again.",
)
@limiter.limit(
    LIMIT_PER_ACCOUNT,
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    error_message="Too many failed sign-ins for this account. Wait 15 minutes and try again.",
)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(sessions.safe_next(request.args.get("next")) or url_for("admin.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = sessions.safe_next(request.args.get("next")) or ""
        return render_template("auth/login.html", form=form)
    if not form.validate():
        return render_template("auth/login.html", form=form), 422
    user = _find_user(form.username.data or "")
    password_ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, form.password.data or "")
    if user is None or not password_ok:
        return render_template("auth/login.html", form=form, error="Wrong username or password."), 422
    if not user.active:
        return render_template(
            "auth/login.html", form=form, error="This account is disabled. Ask an administrator to enable it."
        ), 403

    # A new session at sign-in: nothing set before it (by anyone) survives, and the
    # CSRF token is issued afresh (session fixation defence).
    session.clear()
    login_user(user, remember=bool(form.remember.data), duration=sessions.REMEMBER_FOR)
    audit.record("auth.login", "user", user.id, user=user, detail={"ip": request.remote_addr or ""})
    db.session.commit()
    response = redirect(sessions.safe_next(form.next.data) or url_for("admin.home"), code=303)
    sessions.start(user, response, remember=bool(form.remember.data))
    return response


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    response = redirect(url_for("auth.login"), code=303)
    sessions.end(response)
    return response


@bp.errorhandler(429)
def too_many(exc):
    form = LoginForm()
    form.password.data = ""
    message = getattr(exc, "description", None) or "Too many sign-in attempts. Wait a few minutes and try again."
    return render_template("auth/login.html", form=form, error=message), 429


@bp.errorhandler(CSRFError)
def csrf_failed(exc):
    """An expired or missing token on the sign-in form: say so, with a fresh form."""
    if request.endpoint == "auth.logout":
        flash("Your session had already ended.", "info")
        return redirect(url_for("auth.login"), code=303)
    form = LoginForm()
    form.password.data = ""
    message = "The sign-in form expired. Please enter your details again."
    return render_template("auth/login.html", form=form, error=message), 400
