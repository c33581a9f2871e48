"""Discussion settings from the dashboard take effect on the very next request."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import AuditEntry, Comment
from services import settings as site_settings
from tests import admin_helpers
from tests.admin_helpers import HX

auth = admin_helpers.auth
admin_client = admin_helpers.admin_client
editor_client = admin_helpers.editor_client


def current(app) -> dict:
    with app.app_context():
        from dataclasses import asdict

        return asdict(site_settings.load())


def submit(client, app, **changes):
    data = {k: ("y" if v is True else v) for k, v in current(app).items() if v is not False}
    data.update({k: ("y" if v is True else v) for k, v in changes.items() if v is not False})
    for k, v in changes.items():
        if v is False:
            data.pop(k, None)
    return client.post("/admin/settings", data=data)


def test_settings_page_shows_every_rule_labelled(admin_client):
    html = admin_client.get("/admin/settings").get_data(as_text=True)
    for label in (
        "Maximum reply depth",
        "Threads per page",
        "Close comments after (days)",
        "Seconds between comments from one address",
        "Hold a comment with more links than",
        "Hold for moderation when a comment contains",
        "Send to spam when a comment contains",
        "Banned IP addresses",
        "Banned email addresses",
    ):
        assert f">{label}</label>" in html, label
    assert "Hold every comment for a moderator" in html
    assert "Check that a linking page really links here" in html


def test_max_depth_applies_to_the_public_page_at_once(app, admin_client, client, factory):
    a = factory.article()
    top = factory.comment(a, body="Top level")
    reply = factory.comment(a, body="First reply", parent=top)
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert f"/comments/{reply.id}/reply" in page
    r = submit(admin_client, app, max_depth=2)
    assert r.status_code == 303
    assert "Settings saved." in admin_client.get("/admin/settings").get_data(as_text=True)
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert f"/comments/{top.id}/reply" in page and f"/comments/{reply.id}/reply" not in page
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "settings.update"))
        assert '"max_depth"' in entry.detail


def test_hold_all_sends_new_comments_to_the_queue(app, admin_client, client, factory):
    a = factory.article()
    submit(admin_client, app, moderation="all")
    client.post(f"/article/{a.slug}/comments", data={"name": "Reader", "body": "Hello there", "issued": _stamp(app)})
    with app.app_context():
        assert db.session.scalar(select(Comment.status)) == "pending"


def _stamp(app):
    from services import discussion

    with app.test_request_context():
        return discussion.issue_stamp()


def test_banned_ip_goes_to_spam(app, admin_client, client, factory):
    a = factory.article()
    submit(admin_client, app, banned_ips="192.0.2.44\n 192.0.2.44 \n")
    assert current(app)["banned_ips"] == "192.0.2.44"
    client.post(
        f"/article/{a.slug}/comments",
        data={"name": "Spammer", "body": "Visit my site", "issued": _stamp(app)},
        environ_base={"REMOTE_ADDR": "192.0.2.44"},
    )
    with app.app_context():
        assert db.session.scalar(select(Comment.status)) == "spam"


def test_invalid_values_are_refused_and_nothing_changes(app, admin_client):
    before = current(app)
    r = submit(admin_client, app, max_depth=0, banned_ips="not-an-address")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Choose between 1 and 10 levels." in html
    assert "“not-an-address” is not an IP address" in html
    assert "Nothing was saved" in html
    assert current(app) == before
    r = submit(admin_client, app, threads_per_page="lots")
    assert r.status_code == 422 and current(app) == before


def test_unchanged_settings_write_nothing(app, admin_client):
    submit(admin_client, app)
    assert "Nothing changed." in admin_client.get("/admin/settings").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "settings.update")) is None


def test_checkboxes_turn_off(app, admin_client):
    submit(admin_client, app, verify_linkbacks=False, public_moderation_log=True)
    assert current(app)["verify_linkbacks"] is False and current(app)["public_moderation_log"] is True


def test_editors_cannot_change_settings(app, editor_client):
    before = current(app)
    r = editor_client.post("/admin/settings", data={"max_depth": "2"}, headers=HX)
    assert r.status_code == 403
    assert current(app) == before
