"""Managing dashboard accounts: add, reset passwords, roles, disable — and never lose the last admin."""

from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import AuditEntry, User
from tests import admin_helpers
from tests.admin_helpers import PASSWORD

auth = admin_helpers.auth
admin_client = admin_helpers.admin_client


def _user(app, username):
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username))


def _can_sign_in(app, username, password) -> bool:
    c = app.test_client()
    return c.post("/admin/login", data={"username": username, "password": password}).status_code == 303


NEW = {"username": "marta", "display_name": "Marta Reyes", "email": "marta@example.org", "role": "editor"}


def test_admin_adds_an_editor_who_can_sign_in(app, admin_client):
    r = admin_client.post("/admin/users", data={**NEW, "password": "a long password"})
    assert r.status_code == 303
    assert "Added editor “marta”." in admin_client.get("/admin/users").get_data(as_text=True)
    u = _user(app, "marta")
    assert u.role == "editor" and u.display_name == "Marta Reyes" and u.password_hash != "a long password"
    assert _can_sign_in(app, "marta", "a long password")
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "user.create"))


def test_bad_new_users_are_refused(app, admin_client):
    short = admin_client.post("/admin/users", data={**NEW, "password": "short"})
    assert short.status_code == 422 and "at least 10" in short.get_data(as_text=True)
    dup = admin_client.post("/admin/users", data={**NEW, "username": "ADMIN", "password": "a long password"})
    assert dup.status_code == 422 and "There is already an account called “ADMIN”." in dup.get_data(as_text=True)
    odd = admin_client.post("/admin/users", data={**NEW, "username": "no spaces", "password": "a long password"})
    assert odd.status_code == 422 and "letters, digits" in odd.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_reset_password(app, admin_client, factory):
    u = factory.user("ed", role="editor")
    r = admin_client.post(
        f"/admin/users/{u.id}/password", data={"password": "new secret 123", "confirm": "new secret 123"}
    )
    assert r.status_code == 303
    assert not _can_sign_in(app, "ed", PASSWORD)
    assert _can_sign_in(app, "ed", "new secret 123")
    mismatch = admin_client.post(f"/admin/users/{u.id}/password", data={"password": "new secret 456", "confirm": "x"})
    assert mismatch.status_code == 422 and "The two passwords differ." in mismatch.get_data(as_text=True)
    assert _can_sign_in(app, "ed", "new secret 123")


def test_changing_ones_own_password_keeps_this_session(app, client, auth):
    me = auth.login_admin()
    r = client.post(
        f"/admin/users/{me.id}/password", data={"password": "my new password", "confirm": "my new password"}
    )
    assert r.status_code == 303
    assert client.get("/admin/").status_code == 200


def test_disable_and_enable_an_account(app, admin_client, factory):
    u = factory.user("ed", role="editor")
    r = admin_client.post(f"/admin/users/{u.id}/active", data={"active": "0"})
    assert r.status_code == 303 and _user(app, "ed").active is False
    assert not _can_sign_in(app, "ed", PASSWORD)
    admin_client.post(f"/admin/users/{u.id}/active", data={"active": "1"})
    assert _can_sign_in(app, "ed", PASSWORD)


def test_the_last_admin_cannot_be_demoted_or_disabled(app, client, auth, factory):
    me = auth.login_admin()
    factory.user("ed", role="editor")
    demote = client.post(f"/admin/users/{me.id}/role", data={"role": "editor"})
    assert demote.status_code == 409
    assert "admin is the last active admin" in demote.get_data(as_text=True)
    assert _user(app, "admin").role == "admin"
    other = factory.user("boss2", role="admin")
    with app.app_context():
        db.session.get(User, other.id).active = False
        db.session.commit()
    # A disabled admin does not count: still the last active one.
    assert client.post(f"/admin/users/{me.id}/role", data={"role": "editor"}).status_code == 409


def test_an_admin_cannot_disable_themselves(app, client, auth):
    me = auth.login_admin()
    r = client.post(f"/admin/users/{me.id}/active", data={"active": "0"})
    assert r.status_code == 409 and "You cannot disable your own account." in r.get_data(as_text=True)
    assert _user(app, "admin").active is True


def test_with_two_admins_one_can_step_down(app, client, auth, factory):
    me = auth.login_admin()
    other = factory.user("chief", role="admin")
    assert client.post(f"/admin/users/{other.id}/role", data={"role": "editor"}).status_code == 303
    assert _user(app, "chief").role == "editor"
    factory.user("chief2", role="admin")
    r = client.post(f"/admin/users/{me.id}/role", data={"role": "editor"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/")
    assert client.get("/admin/users").status_code == 403


def test_unknown_user_is_404(admin_client):
    assert admin_client.get("/admin/users/999").status_code == 404
    assert admin_client.post("/admin/users/999/active", data={"active": "0"}).status_code == 404


def test_editors_cannot_manage_users(app, client, auth):
    auth.login_editor()
    r = client.post("/admin/users", data={**NEW, "role": "admin", "password": "a long password"})
    assert r.status_code == 403
    assert _user(app, "marta") is None
