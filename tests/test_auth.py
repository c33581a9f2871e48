"""Signing in to the dashboard: the form, sessions, remember-me, rate limits, and the guard on every URL."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import AuditEntry, User
from tests import admin_helpers
from tests.admin_helpers import HX, PASSWORD, csrf_token_from

auth = admin_helpers.auth
admin_client = admin_helpers.admin_client


def _set_user(app, username, **values):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        for key, value in values.items():
            if key == "password":
                user.set_password(value)
            else:
                setattr(user, key, value)
        db.session.commit()


def test_login_form_has_labelled_username_and_password(client):
    html = client.get("/admin/login").get_data(as_text=True)
    assert '<label for="username">Username</label>' in html
    assert '<label for="password">Password</label>' in html
    assert 'type="password"' in html and "Sign in" in html


def test_admin_signs_in_and_out(client, auth):
    response = auth.login()
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/")
    assert client.get("/admin/").status_code == 200
    out = auth.logout()
    assert out.status_code == 303 and "/admin/login" in out.headers["Location"]
    again = client.get("/admin/")
    assert again.status_code == 302 and "/admin/login" in again.headers["Location"]


def test_sign_in_is_logged(app, auth):
    auth.login()
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.action)) == "auth.login"


def test_wrong_password_is_refused_with_a_clear_message(client, auth):
    auth.user("admin")
    response = client.post("/admin/login", data={"username": "admin", "password": "not it"})
    assert response.status_code == 422
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_unknown_username_gets_the_same_message(client):
    response = client.post("/admin/login", data={"username": "nobody", "password": "whatever123"})
    assert response.status_code == 422
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_empty_fields_say_what_to_fill_in(client):
    response = client.post("/admin/login", data={"username": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your username." in html and "Enter your password." in html


def test_username_is_not_case_sensitive(client, auth):
    auth.user("Marta")
    response = client.post("/admin/login", data={"username": "marta", "password": PASSWORD})
    assert response.status_code == 303


def test_passwords_are_stored_hashed(app, auth):
    auth.user("admin")
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash))
    assert PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))


def test_disabled_account_cannot_sign_in(app, client, auth):
    auth.user("gone", role="editor")
    _set_user(app, "gone", active=False)
    response = client.post("/admin/login", data={"username": "gone", "password": PASSWORD})
    assert response.status_code == 403
    assert "disabled" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_disabling_an_account_signs_it_out_at_once(app, client, auth):
    auth.login("ed", role="editor")
    assert client.get("/admin/articles").status_code == 200
    _set_user(app, "ed", active=False)
    response = client.get("/admin/articles")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_a_password_change_ends_other_sessions(app, factory):
    first, second = app.test_client(), app.test_client()
    factory.user("admin")
    for c in (first, second):
        assert c.post("/admin/login", data={"username": "admin", "password": PASSWORD}).status_code == 303
    _set_user(app, "admin", password="a brand new secret")
    assert first.get("/admin/").status_code == 302
    assert second.get("/admin/").status_code == 302


def test_session_is_renewed_at_sign_in(client, auth):
    auth.user("admin")
    with client.session_transaction() as s:
        s["planted"] = "by someone else"
        s["csrf_token"] = "fixed-token"
    client.post("/admin/login", data={"username": "admin", "password": PASSWORD})
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s.get("csrf_token") != "fixed-token"
        assert s.get("_user_id")


def test_remember_me_keeps_the_admin_signed_in_without_a_session(app, client, auth):
    auth.user("admin")
    response = client.post("/admin/login", data={"username": "admin", "password": PASSWORD, "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") for c in cookies)
    assert any(c.startswith("gz_admin_fp=") and "HttpOnly" in c for c in cookies)
    fresh = app.test_client()
    for name in ("remember_token", "gz_admin_fp"):
        cookie = client.get_cookie(name, path="/admin" if name == "gz_admin_fp" else "/")
        fresh.set_cookie(name, cookie.value, path=cookie.path)
    assert fresh.get("/admin/").status_code == 200


def test_remember_me_dies_with_a_password_change(app, client, auth):
    auth.user("admin")
    client.post("/admin/login", data={"username": "admin", "password": PASSWORD, "remember": "y"})
    fresh = app.test_client()
    for name in ("remember_token", "gz_admin_fp"):
        cookie = client.get_cookie(name, path="/admin" if name == "gz_admin_fp" else "/")
        fresh.set_cookie(name, cookie.value, path=cookie.path)
    _set_user(app, "admin", password="a brand new secret")
    assert fresh.get("/admin/").status_code == 302


def test_without_remember_me_no_long_lived_cookie(client, auth):
    response = auth.login()
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_next_leads_only_into_the_dashboard(client, auth):
    auth.user("admin")
    ok = client.post("/admin/login", data={"username": "admin", "password": PASSWORD, "next": "/admin/comments"})
    assert ok.headers["Location"].endswith("/admin/comments")
    auth.logout()
    for evil in ("https://evil.example/", "//evil.example/admin", "/\\evil.example", "/article/x"):
        response = client.post("/admin/login", data={"username": "admin", "password": PASSWORD, "next": evil})
        assert response.headers["Location"].endswith("/admin/"), evil
        auth.logout()


def test_an_anonymous_visit_is_sent_to_sign_in_and_back(client, auth):
    response = client.get("/admin/comments?status=spam")
    assert response.status_code == 302
    assert "/admin/login?next=" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/admin/comments?status=spam"' in page


def test_logout_needs_a_post(admin_client):
    assert admin_client.get("/admin/logout").status_code == 405
    assert admin_client.get("/admin/").status_code == 200


def _dummy_url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 1 if type(converter).__name__ in ("IntegerConverter",) else "x"
    return rule.build(values, append_unknown=False)[1]


def test_every_admin_url_refuses_anonymous_requests(app, client):
    # Sign-in and sign-out are the only dashboard URLs open to everyone.
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin") and not r.endpoint.startswith("auth.")]
    assert len(rules) > 20, "the dashboard's routes are registered"
    checked = 0
    for rule in rules:
        url = _dummy_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 401), (method, url, response.status_code)
            if response.status_code == 302:
                assert "/admin/login" in response.headers["Location"], (method, url)
            htmx = client.open(url, method=method, headers=HX)
            assert htmx.status_code == 401 and "/admin/login" in htmx.headers["HX-Redirect"], (method, url)
            checked += 1
    assert checked >= 30


def test_an_ended_session_tells_htmx_to_go_to_sign_in(client):
    response = client.post("/admin/comments/1/moderate", data={"action": "approve"}, headers=HX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/admin/login")


def test_editors_cannot_open_admin_only_screens(client, auth):
    auth.login_editor()
    for url in ("/admin/comments", "/admin/settings", "/admin/users", "/admin/audit", "/admin/users/1"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Only administrators can do that." in response.get_data(as_text=True)
    for url in ("/admin/", "/admin/articles", "/admin/articles/new", "/admin/categories", "/admin/tags"):
        assert client.get(url).status_code == 200, url


def test_editor_calling_an_admin_action_gets_403_and_changes_nothing(app, client, auth, factory):
    article = factory.article()
    comment = factory.comment(article, status="pending")
    auth.login_editor()
    response = client.post(f"/admin/comments/{comment.id}/moderate", data={"action": "approve"}, headers=HX)
    assert response.status_code == 403
    assert "Only administrators" in response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#admin-flash"
    with app.app_context():
        from models import Comment

        assert db.session.get(Comment, comment.id).status == "pending"


# ---------------------------------------------------------------- rate limits and CSRF


def test_failed_sign_ins_are_limited_per_account(make_app, factory):
    app = make_app(RATELIMIT_ENABLED=True)
    from tests.factories import Factory

    Factory(app).user("admin")
    client = app.test_client()
    for i in range(5):
        r = client.post("/admin/login", data={"username": "admin", "password": f"guess {i}"})
        assert r.status_code == 422
    # Even the right password is refused now, from any address.
    blocked = client.post(
        "/admin/login", data={"username": "ADMIN", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "192.0.2.99"}
    )
    assert blocked.status_code == 429
    assert "Too many failed sign-ins for this account" in blocked.get_data(as_text=True)
    # Another account is unaffected.
    Factory(app).user("other", role="editor")
    assert client.post("/admin/login", data={"username": "other", "password": PASSWORD}).status_code == 303


def test_failed_sign_ins_are_limited_per_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for i in range(20):
        r = client.post("/admin/login", data={"username": f"user{i}", "password": "wrong password"})
        assert r.status_code == 422
    blocked = client.post("/admin/login", data={"username": "someone-new", "password": "wrong password"})
    assert blocked.status_code == 429
    assert "Too many failed sign-ins from your network" in blocked.get_data(as_text=True)
    elsewhere = client.post(
        "/admin/login", data={"username": "someone-new", "password": "x"}, environ_base={"REMOTE_ADDR": "192.0.2.5"}
    )
    assert elsewhere.status_code == 422


def test_successful_sign_ins_do_not_count_against_the_limit(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    from tests.factories import Factory

    Factory(app).user("admin")
    client = app.test_client()
    for _ in range(8):
        assert client.post("/admin/login", data={"username": "admin", "password": PASSWORD}).status_code == 303


def test_sign_in_without_a_csrf_token_is_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    from tests.factories import Factory

    Factory(app).user("admin")
    client = app.test_client()
    response = client.post("/admin/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
    assert "The sign-in form expired" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    token = csrf_token_from(client.get("/admin/login").get_data(as_text=True))
    ok = client.post("/admin/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 303


def test_dashboard_pages_are_never_cached(admin_client):
    for url in ("/admin/", "/admin/login"):
        response = admin_client.get(url, follow_redirects=True)
        assert response.headers["Cache-Control"] == "no-store", url
    assert "HX-Request" in admin_client.get("/admin/").headers["Vary"]
