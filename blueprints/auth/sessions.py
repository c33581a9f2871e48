"""Dashboard sessions that end when the password changes or the account is disabled.

Flask-Login remembers only the user id, so on its own a stolen session (or a
"remember me" cookie) would outlive a password reset. We keep a keyed
fingerprint of the password hash in the session, and in a signed cookie beside
the remember-me cookie; a session whose fingerprint no longer matches is over.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Response, current_app, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from models import User

SESSION_KEY = "_gz_pw"
COOKIE = "gz_admin_fp"
REMEMBER_FOR = timedelta(days=30)


def fingerprint(user: User) -> str:
    secret = current_app.config["SECRET_KEY"]
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(key, (user.password_hash or "").encode(), hashlib.sha256).hexdigest()[:24]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="admin-fingerprint")


def start(user: User, response: Response, remember: bool) -> None:
    """Mark a fresh sign-in; with "remember me", also the cookie that outlives the session."""
    session[SESSION_KEY] = fingerprint(user)
    if remember:
        response.set_cookie(
            COOKIE,
            _serializer().dumps([user.id, fingerprint(user)]),
            max_age=int(REMEMBER_FOR.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
            path="/admin",
        )
    else:
        response.delete_cookie(COOKIE, path="/admin")


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/admin")


def is_current(user: User) -> bool:
    """True while the user's password is the one they signed in with."""
    expected = fingerprint(user)
    stored = session.get(SESSION_KEY)
    if stored is not None:
        return hmac.compare_digest(stored, expected)
    # No fingerprint in the session: it was restored from the remember-me cookie.
    raw = request.cookies.get(COOKIE)
    if not raw:
        return False
    try:
        user_id, fp = _serializer().loads(raw, max_age=int(REMEMBER_FOR.total_seconds()))
    except (BadSignature, ValueError, TypeError):
        return False
    if user_id != user.id or not hmac.compare_digest(str(fp), expected):
        return False
    session[SESSION_KEY] = expected
    return True


def safe_next(target: str | None) -> str | None:
    """A post-login destination, only if it is a dashboard path on this site (no open redirect)."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin"):
        return None
    if parts.path.startswith(("/admin/login", "/admin/logout")):
        return None
    return target
