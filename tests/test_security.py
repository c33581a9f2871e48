"""Cookies, proxies and CSRF: the defaults a security reviewer checks first."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Comment
from tests.comment_helpers import form
from tests.factories import Factory


def _cookie(response, name: str) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_session_cookie_is_httponly_lax_and_secure_over_https(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    a = Factory(app).article()
    plain = app.test_client().get(f"/article/{a.slug}")
    cookie = _cookie(plain, "session")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client().get(f"/article/{a.slug}", base_url="https://localhost")
    assert "Secure" in _cookie(secure, "session")


def test_commenter_cookies_are_httponly_lax(app, client, factory):
    a = factory.article()
    r = client.post(f"/article/{a.slug}/comments", data=form(app, remember="y"), base_url="https://localhost")
    for name in ("gz_own", "gz_commenter"):
        cookie = _cookie(r, name)
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_forwarded_for_is_ignored_by_default(app, client, factory):
    a = factory.article()
    client.post(f"/article/{a.slug}/comments", data=form(app), headers={"X-Forwarded-For": "198.51.100.99"})
    with app.app_context():
        assert db.session.scalar(select(Comment.ip)) == "127.0.0.1"


def test_trusted_proxy_supplies_the_client_address(make_app):
    app = make_app(TRUSTED_PROXIES=1, COMMENT_MIN_SECONDS=0)
    a = Factory(app).article()
    app.test_client().post(f"/article/{a.slug}/comments", data=form(app), headers={"X-Forwarded-For": "198.51.100.99"})
    with app.app_context():
        assert db.session.scalar(select(Comment.ip)) == "198.51.100.99"


def test_fragments_carry_the_same_security_headers(app, htmx, factory):
    a = factory.article()
    r = htmx.post(f"/article/{a.slug}/comments", data=form(app))
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_https_site_url_makes_every_auth_cookie_secure(make_app):
    app = make_app(SITE_URL="https://news.example.org")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
