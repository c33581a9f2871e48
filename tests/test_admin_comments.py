"""The moderation queue: tabs, search, row and bulk actions, undo, edit, staff replies."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from extensions import db
from models import Article, AuditEntry, Comment, Report, utcnow
from tests import admin_helpers
from tests.admin_helpers import HX

auth = admin_helpers.auth
admin_client = admin_helpers.admin_client


def _status(app, comment_id):
    with app.app_context():
        c = db.session.get(Comment, comment_id)
        return c.status if c else None


def _counts(app, article_id):
    with app.app_context():
        a = db.session.get(Article, article_id)
        return a.comment_count, a.linkback_count


def _oob_count(html: str, tab: str) -> int:
    match = re.search(rf'id="count-{tab}" hx-swap-oob="true">(\d+)<', html)
    assert match, f"no out-of-band count for {tab}"
    return int(match.group(1))


# ---------------------------------------------------------------- the queue


def test_pending_tab_lists_pending_comments_with_counts(admin_client, factory):
    a = factory.article("Harbour news")
    factory.comment(a, body="Waiting for a moderator", status="pending")
    factory.comment(a, body="Already public", status="approved")
    factory.comment(a, body="Buy cheap pills", status="spam")
    html = admin_client.get("/admin/comments").get_data(as_text=True)
    assert "Waiting for a moderator" in html
    assert "Already public" not in html and "cheap pills" not in html
    assert re.search(r'id="count-pending">1<', html)
    assert re.search(r'id="count-approved">1<', html)
    assert re.search(r'id="count-spam">1<', html)
    assert re.search(r'id="count-trash">0<', html)
    spam = admin_client.get("/admin/comments?status=spam").get_data(as_text=True)
    assert "Buy cheap pills" in spam and "Waiting for a moderator" not in spam


def test_search_finds_text_author_email_and_ip(admin_client, factory):
    a = factory.article()
    factory.comment(a, body="The ferry was late again", name="Maya", status="pending", ip="203.0.113.9")
    factory.comment(a, body="Lovely photos", name="Tom", status="pending", author_email="tom@example.org")
    factory.comment(a, body="100% agree_with this", name="Ann", status="pending")

    def found(q):
        html = admin_client.get("/admin/comments", query_string={"q": q}).get_data(as_text=True)
        return {n for n in ("Maya", "Tom", "Ann") if f"data-user-content>{n}<" in html}

    assert found("ferry") == {"Maya"}
    assert found("FERRY") == {"Maya"}
    assert found("tom@example") == {"Tom"}
    assert found("203.0.113") == {"Maya"}
    assert found("maya") == {"Maya"}
    # LIKE wildcards in the query are literal text.
    assert found("100%") == {"Ann"}
    assert found("0%a") == set()


def test_filter_by_article_and_kind(admin_client, factory):
    a, b = factory.article("First story"), factory.article("Second story")
    factory.comment(a, body="On the first", name="A1", status="pending")
    factory.comment(b, body="On the second", name="B1", status="pending")
    factory.comment(b, body="A linking post", name="Blog", status="pending", kind="trackback")
    factory.comment(b, body="Another linking post", name="Other blog", status="pending", kind="webmention")
    html = admin_client.get(f"/admin/comments?article={b.id}").get_data(as_text=True)
    assert "On the second" in html and "On the first" not in html
    tb = admin_client.get("/admin/comments?kind=trackback").get_data(as_text=True)
    assert "A linking post" in tb and "On the second" not in tb and "Another linking post" not in tb
    links = admin_client.get("/admin/comments?kind=linkback").get_data(as_text=True)
    assert "A linking post" in links and "Another linking post" in links and "On the second" not in links


def test_reported_tab_shows_readers_reasons(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, body="You are all idiots", name="Troll")
    factory.comment(a, body="A kind word", name="Nice")
    with app.app_context():
        db.session.add(
            Report(comment_id=c.id, reporter="r1", reason="abuse", note="Insults <b>readers</b>", ip="1.1.1.1")
        )
        db.session.add(Report(comment_id=c.id, reporter="r2", reason="spam", ip="1.1.1.2"))
        db.session.get(Comment, c.id).report_count = 2
        db.session.commit()
    html = admin_client.get("/admin/comments?status=reported").get_data(as_text=True)
    assert "You are all idiots" in html and "A kind word" not in html
    assert "Abusive or harassing" in html and "Spam" in html
    assert "Insults &lt;b&gt;readers&lt;/b&gt;" in html
    assert "Reported 2×" in html
    assert re.search(r'id="count-reported">1<', html)


def test_reader_content_is_escaped_and_marked(admin_client, factory):
    a = factory.article()
    factory.comment(a, body="<script>alert(1)</script>Hi", name="<img src=x onerror=alert(1)>", status="pending")
    html = admin_client.get("/admin/comments").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "data-user-content>&lt;img" in html


def test_empty_queue_says_so(admin_client):
    assert "All caught up" in admin_client.get("/admin/comments").get_data(as_text=True)


def test_unknown_tab_and_bad_cursor_fall_back_gracefully(admin_client, factory):
    a = factory.article()
    factory.comment(a, body="Still here", status="pending")
    assert "Still here" in admin_client.get("/admin/comments?status=bogus&older=nonsense").get_data(as_text=True)


# ---------------------------------------------------------------- row actions


def test_approve_swaps_the_row_updates_counts_and_offers_undo(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, body="Please publish me", status="pending")
    factory.comment(a, body="Another pending", status="pending")
    response = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "approve"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<article class="qrow qrow--approved qrow--changed" id="qrow-{c.id}"')
    assert "Approved." in html and ">Undo<" in html
    assert _oob_count(html, "pending") == 1 and _oob_count(html, "approved") == 1
    assert 'id="nav-pending" hx-swap-oob="true"' in html
    assert '<div id="admin-live" hx-swap-oob="innerHTML">Approved.</div>' in html
    assert _status(app, c.id) == "approved"
    assert _counts(app, a.id) == (1, 0)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "comment.approve"))
        assert entry.target_id == c.id and entry.user_id is not None
        assert json.loads(entry.detail)["from"] == "pending"


def test_every_row_action_moves_the_comment(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    steps = [
        ("approve", "approved"),
        ("unapprove", "pending"),
        ("spam", "spam"),
        ("restore", "pending"),
        ("approve", "approved"),
        ("trash", "trash"),
        ("restore", "approved"),  # restore puts back the status it had before
    ]
    for action, expected in steps:
        r = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": action}, headers=HX)
        assert r.status_code == 200, (action, r.get_data(as_text=True))
        assert _status(app, c.id) == expected, action
    assert _counts(app, a.id) == (1, 0)


def test_the_same_action_twice_changes_nothing_more(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "spam"}, headers=HX)
    again = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "spam"}, headers=HX)
    assert again.status_code == 200
    assert "Already spam; nothing to do." in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 2  # sign-in + one spam


def test_without_javascript_an_action_redirects_back_with_a_message(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    response = admin_client.post(
        f"/admin/comments/{c.id}/moderate", data={"action": "trash", "next": "/admin/comments?status=pending"}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/comments?status=pending")
    assert "Moved to the trash." in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert _status(app, c.id) == "trash"


def test_next_cannot_leave_the_dashboard(admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    response = admin_client.post(
        f"/admin/comments/{c.id}/moderate", data={"action": "approve", "next": "https://evil.example/"}
    )
    assert response.headers["Location"].endswith("/admin/comments")


def test_unknown_action_is_refused(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    r = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "explode"}, headers=HX)
    assert r.status_code == 400 and "Choose what to do" in r.get_data(as_text=True)
    assert _status(app, c.id) == "pending"


def test_delete_permanently_needs_spam_or_trash_first(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="approved")
    r = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "delete"}, headers=HX)
    assert r.status_code == 409
    assert "Move the comment to the spam or the trash before deleting it permanently." in r.get_data(as_text=True)
    assert _status(app, c.id) == "approved"


def test_a_deleted_comment_acted_on_twice_gets_a_clear_message(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="spam")
    first = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "delete"}, headers=HX)
    assert first.status_code == 200 and "Deleted permanently." in first.get_data(as_text=True)
    assert _status(app, c.id) is None
    second = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "delete"}, headers=HX)
    html = second.get_data(as_text=True)
    assert second.status_code == 404
    assert f'id="qrow-{c.id}"' in html and "no longer exists" in html
    plain = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "approve"})
    assert plain.status_code == 404 and "no longer exists" in plain.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEntry.action == "comment.delete")) == 1


def test_deleting_a_comment_keeps_its_replies(app, admin_client, factory):
    a = factory.article()
    top = factory.comment(a, body="Top", status="approved")
    middle = factory.comment(a, body="Middle", parent=top, status="approved")
    child = factory.comment(a, body="Child", parent=middle, status="approved")
    grandchild = factory.comment(a, body="Grandchild", parent=child, status="approved")
    for action in ("trash", "delete"):
        admin_client.post(f"/admin/comments/{top.id}/moderate", data={"action": action}, headers=HX)
    with app.app_context():
        m, c, g = (db.session.get(Comment, x.id) for x in (middle, child, grandchild))
        assert (m.parent_id, m.root_id, m.depth) == (None, None, 0)
        assert (c.parent_id, c.root_id, c.depth) == (m.id, m.id, 1)
        assert (g.parent_id, g.root_id, g.depth) == (c.id, m.id, 2)
    # A comment in the middle of a thread: its replies move up to its parent.
    for action in ("spam", "delete"):
        admin_client.post(f"/admin/comments/{child.id}/moderate", data={"action": action}, headers=HX)
    with app.app_context():
        g = db.session.get(Comment, grandchild.id)
        assert (g.parent_id, g.root_id, g.depth) == (middle.id, middle.id, 1)
    assert _counts(app, a.id) == (2, 0)


def test_spamming_a_linkback_recounts_linkbacks(app, admin_client, factory):
    a = factory.article()
    tb = factory.comment(a, kind="trackback", status="approved", source_url="https://blog.example/post")
    assert _counts(app, a.id) == (0, 1)
    admin_client.post(f"/admin/comments/{tb.id}/moderate", data={"action": "spam"}, headers=HX)
    assert _counts(app, a.id) == (0, 0)


# ---------------------------------------------------------------- undo


def _undo_entry(html: str) -> str:
    return re.search(r'name="entry" value="(\d+)"', html).group(1)


def test_undo_puts_the_comment_back(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    html = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "spam"}, headers=HX).get_data(
        as_text=True
    )
    undone = admin_client.post("/admin/comments/undo", data={"entry": _undo_entry(html)}, headers=HX)
    body = undone.get_data(as_text=True)
    assert undone.status_code == 200 and "Change undone." in body and ">Undo<" not in body
    assert _oob_count(body, "spam") == 0 and _oob_count(body, "pending") == 1
    assert _status(app, c.id) == "pending"
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEntry.action == "comment.undo")) == 1


def test_undo_twice_or_after_another_change_is_refused(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    html = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "trash"}, headers=HX).get_data(
        as_text=True
    )
    entry = _undo_entry(html)
    admin_client.post("/admin/comments/undo", data={"entry": entry}, headers=HX)
    again = admin_client.post("/admin/comments/undo", data={"entry": entry}, headers=HX)
    assert again.status_code == 409 and "can no longer be undone" in again.get_data(as_text=True)
    assert again.headers["HX-Retarget"] == "#admin-flash"
    assert _status(app, c.id) == "pending"


def test_undo_expires(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    html = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "approve"}, headers=HX).get_data(
        as_text=True
    )
    entry = _undo_entry(html)
    with app.app_context():
        db.session.get(AuditEntry, int(entry)).created_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    late = admin_client.post("/admin/comments/undo", data={"entry": entry}, headers=HX)
    assert late.status_code == 409 and "too old to undo" in late.get_data(as_text=True)
    assert _status(app, c.id) == "approved"


# ---------------------------------------------------------------- bulk


def test_bulk_spam_swaps_each_row_out_of_band(app, admin_client, factory):
    a = factory.article()
    ids = [factory.comment(a, body=f"Spammy {i}", status="pending").id for i in range(3)]
    keep = factory.comment(a, body="Genuine", status="pending")
    response = admin_client.post(
        "/admin/comments/bulk", data={"ids": [str(i) for i in ids], "action": "spam", "reason": "Spam"}, headers=HX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for i in ids:
        assert f'id="qrow-{i}" aria-labelledby="qrow-{i}-who" hx-swap-oob="outerHTML"' in html
        assert _status(app, i) == "spam"
    assert f"qrow-{keep.id}" not in html and _status(app, keep.id) == "pending"
    assert "3 comments changed." in html and "Undo all" in html
    assert _oob_count(html, "spam") == 3 and _oob_count(html, "pending") == 1
    with app.app_context():
        reasons = set(db.session.scalars(select(AuditEntry.reason).where(AuditEntry.action == "comment.spam")))
        assert reasons == {"Spam"}
    entries = re.search(r"Undo all", html) and re.findall(
        r'name="entry" value="(\d+)"', html.split('id="admin-flash"')[1]
    )
    undone = admin_client.post("/admin/comments/undo", data={"entry": entries, "bulk": "1"}, headers=HX)
    assert "3 changes undone." in undone.get_data(as_text=True)
    assert all(_status(app, i) == "pending" for i in ids)


def test_bulk_without_a_selection_says_so(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    r = admin_client.post("/admin/comments/bulk", data={"action": "approve"}, headers=HX)
    assert r.status_code == 422 and "Select at least one comment first." in r.get_data(as_text=True)
    assert r.headers["HX-Retarget"] == "#admin-flash"
    r = admin_client.post("/admin/comments/bulk", data={"ids": [str(c.id)], "action": ""}, headers=HX)
    assert r.status_code == 400 and "Choose an action" in r.get_data(as_text=True)
    assert _status(app, c.id) == "pending"


def test_bulk_reports_comments_that_are_gone_and_refused(app, admin_client, factory):
    a = factory.article()
    trashed = factory.comment(a, status="trash")
    approved = factory.comment(a, status="approved")
    r = admin_client.post(
        "/admin/comments/bulk",
        data={"ids": [str(trashed.id), str(approved.id), "999999"], "action": "delete"},
        headers=HX,
    )
    html = r.get_data(as_text=True)
    assert "1 comment changed. 1 no longer existed. 1 skipped" in html
    assert 'id="qrow-999999"' in html
    assert _status(app, trashed.id) is None and _status(app, approved.id) == "approved"


def test_bulk_without_javascript_redirects(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending")
    r = admin_client.post("/admin/comments/bulk", data={"ids": [str(c.id)], "action": "approve"})
    assert r.status_code == 303
    assert "1 comment changed." in admin_client.get(r.headers["Location"]).get_data(as_text=True)


# ---------------------------------------------------------------- edit and reply


def test_edit_inline_recleans_the_body(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, body="Typo here", status="pending", name="Maya")
    form = admin_client.get(f"/admin/comments/{c.id}/edit", headers=HX).get_data(as_text=True)
    assert f'id="qrow-{c.id}"' in form and "Typo here" in form and f'id="edit{c.id}-body"' in form
    data = {
        f"edit{c.id}-author_name": "Maya R.",
        f"edit{c.id}-author_email": "",
        f"edit{c.id}-author_url": "",
        f"edit{c.id}-body": 'Fixed <script>alert(1)</script><a href="javascript:x" onclick="y">link</a> <b>bold</b>',
    }
    r = admin_client.post(f"/admin/comments/{c.id}/edit", data=data, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Comment saved." in html
    with app.app_context():
        saved = db.session.get(Comment, c.id)
        assert saved.author_name == "Maya R."
        assert "<script" not in saved.body_html and "onclick" not in saved.body_html
        assert "javascript:" not in saved.body_html and "<b>bold</b>" in saved.body_html
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "comment.edit"))


def test_edit_with_an_empty_body_changes_nothing(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, body="Original", status="approved")
    r = admin_client.post(
        f"/admin/comments/{c.id}/edit", data={f"edit{c.id}-author_name": "X", f"edit{c.id}-body": "  "}, headers=HX
    )
    assert r.status_code == 422 and "The comment cannot be empty." in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Comment, c.id).body_source == "Original"


def test_reply_as_staff_appears_with_a_badge(app, admin_client, client, factory):
    a = factory.article("Ferry news")
    c = factory.comment(a, body="When is the next ferry?", status="approved", name="Lucy")
    form = admin_client.get(f"/admin/comments/{c.id}/reply", headers=HX).get_data(as_text=True)
    assert f'id="reply{c.id}-body"' in form and "Publish reply" in form
    r = admin_client.post(f"/admin/comments/{c.id}/reply", data={f"reply{c.id}-body": "At nine, Lucy."}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Your reply is published." in html and "See the reply" in html
    with app.app_context():
        reply = db.session.scalar(select(Comment).where(Comment.parent_id == c.id))
        assert reply.status == "approved" and reply.user_id is not None and reply.depth == 1
        assert db.session.get(Article, a.id).comment_count == 2
    page = admin_client.get(f"/article/{a.slug}").get_data(as_text=True)
    box = page.split(f'id="comment-box-{reply.id}"')[1].split("</article>")[0]
    assert "At nine, Lucy." in box and '<span class="badge"' in box and "Staff" in box


def test_replying_to_a_pending_comment_approves_it_first(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, body="Is this on?", status="pending")
    r = admin_client.post(f"/admin/comments/{c.id}/reply", data={f"reply{c.id}-body": "Yes it is."}, headers=HX)
    html = r.get_data(as_text=True)
    assert "Approved, and your reply is published." in html
    assert _oob_count(html, "pending") == 0
    assert _status(app, c.id) == "approved"
    assert _counts(app, a.id) == (2, 0)


def test_an_empty_reply_shows_the_error_in_the_form(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="approved")
    r = admin_client.post(f"/admin/comments/{c.id}/reply", data={f"reply{c.id}-body": ""}, headers=HX)
    assert r.status_code == 422 and "Write a reply first." in r.get_data(as_text=True)
    assert r.headers["HX-Retarget"] == f"#qrow-{c.id}-slot"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 1


def test_spam_cannot_be_replied_to(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="spam")
    r = admin_client.post(f"/admin/comments/{c.id}/reply", data={f"reply{c.id}-body": "Hello"}, headers=HX)
    assert r.status_code == 422 and "Restore the comment before replying" in r.get_data(as_text=True)


# ---------------------------------------------------------------- paging


def test_keyset_pages_cover_the_queue_without_overlap(app, admin_client, factory):
    a = factory.article()
    with app.app_context():
        now = utcnow()
        for i in range(45):
            when = now - timedelta(minutes=i // 2)  # pairs share a time stamp: ties break on id
            db.session.add(
                Comment(
                    article_id=a.id,
                    status="pending",
                    author_name=f"Reader {i}",
                    body_source=f"Body {i}",
                    body_html=f"<p>Body {i}</p>",
                    created_at=when,
                    updated_at=when,
                )
            )
        db.session.commit()
    seen: list[str] = []
    url = "/admin/comments?status=pending"
    pages = 0
    while url:
        html = admin_client.get(url).get_data(as_text=True)
        seen += re.findall(r'id="qrow-(\d+)" aria', html)
        older = re.search(r'href="([^"]+)" rel="next">Older', html)
        url = older.group(1).replace("&amp;", "&") if older else None
        pages += 1
    assert pages == 3 and len(seen) == 45 and len(set(seen)) == 45
    last = admin_client.get(
        re.search(r'href="([^"]+)" rel="next">Older', admin_client.get("/admin/comments").get_data(as_text=True))
        .group(1)
        .replace("&amp;", "&")
    ).get_data(as_text=True)
    newer = re.search(r'href="([^"]+)" rel="prev">← Newer', last).group(1).replace("&amp;", "&")
    back = re.findall(r'id="qrow-(\d+)" aria', admin_client.get(newer).get_data(as_text=True))
    assert back == seen[:20]


def test_dismissing_reports_clears_the_reported_tab_and_can_be_undone(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, body="Blunt but fair", status="approved")
    with app.app_context():
        db.session.add(Report(comment_id=c.id, reporter="r1", reason="off-topic", ip="1.1.1.1"))
        db.session.get(Comment, c.id).report_count = 1
        db.session.commit()
    page = admin_client.get("/admin/comments?status=reported").get_data(as_text=True)
    assert "Keep, dismiss reports" in page
    r = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "dismiss"}, headers=HX)
    html = r.get_data(as_text=True)
    assert "Reports dismissed; the comment stays." in html and _oob_count(html, "reported") == 0
    assert _status(app, c.id) == "approved"
    admin_client.post("/admin/comments/undo", data={"entry": _undo_entry(html)}, headers=HX)
    with app.app_context():
        assert db.session.get(Comment, c.id).report_count == 1
    again = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "dismiss"}, headers=HX)
    assert again.status_code == 200
    none_left = admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "dismiss"}, headers=HX)
    assert none_left.status_code == 409 and "no reports to dismiss" in none_left.get_data(as_text=True)


def test_approving_a_held_reported_comment_clears_its_reports(app, admin_client, factory):
    a = factory.article()
    c = factory.comment(a, status="pending", report_count=3)
    admin_client.post(f"/admin/comments/{c.id}/moderate", data={"action": "approve"}, headers=HX)
    with app.app_context():
        saved = db.session.get(Comment, c.id)
        assert saved.status == "approved" and saved.report_count == 0
