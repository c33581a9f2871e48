"""The audit log for admins, and the optional public moderation log."""

from __future__ import annotations

from tests import admin_helpers
from tests.admin_helpers import HX

auth = admin_helpers.auth
admin_client = admin_helpers.admin_client


def test_audit_log_lists_who_did_what_to_which(admin_client, factory):
    a = factory.article("Harbour story")
    c = factory.comment(a, status="pending")
    admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "spam"}, headers=HX)
    admin_client.post("/admin/tags", data={"name": "Regatta"})
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "Marked a comment as spam" in html
    assert f"Comment #{c.id}" in html and "Harbour story" in html
    assert "pending → spam" in html and "Reason: Spam" in html
    assert "Added a tag" in html and "Signed in" in html and "Admin" in html
    only = admin_client.get("/admin/audit?type=tag").get_data(as_text=True)
    assert "Added a tag" in only and "Marked a comment as spam" not in only


def test_audit_log_pages_by_id(app, admin_client):
    from extensions import db
    from services import audit

    with app.app_context():
        for i in range(60):
            audit.record("tag.create", "tag", i, detail={"name": f"t{i}"})
        db.session.commit()
    first = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "Older entries" in first and "“t59”" in first and "“t5”" not in first
    import re

    older = re.search(r'href="([^"]+)" rel="next">Older', first).group(1).replace("&amp;", "&")
    assert "“t5”" in admin_client.get(older).get_data(as_text=True)


def _enable_public_log(app):
    from extensions import db
    from services import settings as site_settings

    with app.app_context():
        s = site_settings.load()
        s.public_moderation_log = True
        site_settings.save(s)
        db.session.commit()


def test_public_moderation_log_is_off_by_default(client):
    assert client.get("/moderation").status_code == 404


def test_public_moderation_log_shows_removals_without_personal_data(app, admin_client, client, factory):
    a = factory.article("Ferry timetable")
    draft = factory.article("Secret draft", status="draft")
    c = factory.comment(
        a,
        body="Buy cheap pills",
        name="Spammy McSpam",
        status="approved",
        ip="203.0.113.77",
        author_email="s@spam.example",
    )
    d = factory.comment(draft, body="On a draft", name="Early", status="pending")
    admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "spam"}, headers=HX)
    admin_client.post(
        "/admin/comments/bulk", data={"ids": [str(d.id)], "action": "trash", "reason": "Off-topic"}, headers=HX
    )
    _enable_public_log(app)
    html = client.get("/moderation").get_data(as_text=True)
    assert "Removed as spam" in html and "Ferry timetable" in html and "Off-topic" in html
    assert "Admin" in html  # the moderator's public name
    for private in ("Spammy", "cheap pills", "203.0.113.77", "spam.example", "Secret draft", "Early"):
        assert private not in html, private
    assert "an article no longer public" in html
