"""Every dashboard form needs its CSRF token: without one (or with an expired one) nothing changes."""

from __future__ import annotations

import time

import pytest

from extensions import db
from models import Comment
from tests.admin_helpers import HX, PASSWORD, csrf_token_from
from tests.factories import Factory


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def signed_in(csrf_app):
    Factory(csrf_app).user("admin")
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/admin/login").get_data(as_text=True))
    assert (
        client.post("/admin/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}).status_code
        == 303
    )
    return client


def _pending(app):
    f = Factory(app)
    return f.comment(f.article(), status="pending")


def _status(app, cid):
    with app.app_context():
        return db.session.get(Comment, cid).status


def test_an_action_without_a_token_is_refused(csrf_app, signed_in):
    c = _pending(csrf_app)
    r = signed_in.post(f"/admin/comments/{c.id}/moderate", data={"action": "approve"})
    assert r.status_code == 400
    assert "sent without its security token, so nothing was changed" in r.get_data(as_text=True)
    hx = signed_in.post(f"/admin/comments/{c.id}/moderate", data={"action": "approve"}, headers=HX)
    assert hx.status_code == 400 and hx.headers["HX-Retarget"] == "#admin-flash"
    assert 'role="alert"' in hx.get_data(as_text=True)
    assert _status(csrf_app, c.id) == "pending"


def test_the_header_token_htmx_sends_is_accepted(csrf_app, signed_in):
    c = _pending(csrf_app)
    token = csrf_token_from(signed_in.get("/admin/comments").get_data(as_text=True))
    r = signed_in.post(
        f"/admin/comments/{c.id}/moderate", data={"action": "approve"}, headers={**HX, "X-CSRFToken": token}
    )
    assert r.status_code == 200 and _status(csrf_app, c.id) == "approved"


def test_an_expired_token_is_refused(csrf_app, signed_in, monkeypatch):
    c = _pending(csrf_app)
    real = time.time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real() - 3 * 24 * 3600)
    with signed_in.session_transaction() as s:
        s.pop("csrf_token", None)
    old = csrf_token_from(signed_in.get("/admin/comments").get_data(as_text=True))
    monkeypatch.setattr("itsdangerous.timed.time.time", real)
    r = signed_in.post(f"/admin/comments/{c.id}/moderate", data={"action": "spam", "csrf_token": old})
    assert r.status_code == 400 and "nothing was changed" in r.get_data(as_text=True)
    assert _status(csrf_app, c.id) == "pending"


def test_settings_and_users_forms_need_the_token(csrf_app, signed_in):
    r = signed_in.post("/admin/settings", data={"max_depth": "2"})
    assert r.status_code == 400
    r = signed_in.post("/admin/users", data={"username": "x", "password": "a long password", "role": "admin"})
    assert r.status_code == 400
    from sqlalchemy import func, select

    from models import Setting, User

    with csrf_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Setting)) == 0
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_an_article_without_a_token_is_not_saved(csrf_app, signed_in):
    r = signed_in.post("/admin/articles/new", data={"title": "Sneaky", "status": "published", "body_md": "x"})
    assert r.status_code == 400
    from sqlalchemy import func, select

    from models import Article

    with csrf_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Article)) == 0
