"""Readers post comments and replies: with htmx, without JavaScript, and with bad input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Article, Comment, utcnow
from tests.comment_helpers import form, set_settings


def _count(app, **where) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(Comment)
        for k, v in where.items():
            stmt = stmt.where(getattr(Comment, k) == v)
        return db.session.scalar(stmt)


def _post(client, article, data, **kw):
    return client.post(f"/article/{article.slug}/comments", data=data, **kw)


# ---------------------------------------------------------------- posting


def test_post_without_javascript_redirects_to_the_new_comment(app, client, factory):
    a = factory.article()
    r = _post(client, a, form(app, body="Hello <b>harbour</b>"))
    assert r.status_code == 303
    with app.app_context():
        c = db.session.scalar(select(Comment))
        assert c.status == "approved" and c.depth == 0 and c.parent_id is None
    assert r.headers["Location"].endswith(f"/article/{a.slug}#comment-{c.id}")
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert f'id="comment-{c.id}"' in page and "Hello <b>harbour</b>" in page
    assert '<span id="comment-count">1 Comment</span>' in page


def test_htmx_post_answers_the_fragment_with_count_and_announcement(app, htmx, factory):
    a = factory.article()
    factory.comment(a, "Earlier")
    r = _post(htmx, a, form(app, body="Fresh words"))
    assert r.status_code == 201
    html = r.get_data(as_text=True)
    with app.app_context():
        new_id = db.session.scalar(select(func.max(Comment.id)))
    assert f'id="comment-{new_id}"' in html and "Fresh words" in html
    assert 'hx-swap-oob="beforeend:#comment-list"' in html
    assert '<span id="comment-count" hx-swap-oob="true">2 Comments</span>' in html
    assert 'hx-swap-oob="innerHTML:#announcer">Comment posted.' in html
    # Nothing else is swapped: the form stays (site.js empties its comment box).
    assert 'id="comment-form"' not in html
    assert "gz_own=" in r.headers.get("Set-Cookie", "")


def test_reply_nests_under_its_parent(app, client, factory):
    a = factory.article()
    top = factory.comment(a, "Top")
    r = _post(client, a, form(app, parent=top, body="A reply"))
    assert r.status_code == 303
    with app.app_context():
        reply = db.session.scalar(select(Comment).where(Comment.parent_id == top.id))
        assert reply.depth == 1 and reply.root_id == top.id
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    parent_li = page[page.index(f'id="comment-{top.id}"') :]
    assert parent_li.index(f'id="children-{top.id}"') < parent_li.index(f'id="comment-{reply.id}"')


def test_htmx_reply_lands_in_the_parents_children(app, htmx, factory):
    a = factory.article()
    top = factory.comment(a, "Top")
    r = _post(htmx, a, form(app, parent=top, body="Nested reply"))
    assert r.status_code == 201
    html = r.get_data(as_text=True)
    assert f'hx-swap-oob="beforeend:#children-{top.id}"' in html
    assert "Your reply was posted." in html


def test_reply_form_is_a_page_without_javascript_and_a_fragment_with_htmx(app, client, htmx, factory):
    a = factory.article()
    top = factory.comment(a, "Top", name="Zed")
    url = f"/comments/{top.id}/reply"
    page = client.get(url).get_data(as_text=True)
    assert "<html" in page and "Reply to <bdi data-user-content>Zed</bdi>" in page and "Post Comment" in page
    frag = htmx.get(url).get_data(as_text=True)
    assert "<html" not in frag and f'id="reply-form-{top.id}"' in frag
    for label in ("Name", "Email", "Website", "Comment"):
        assert re.search(rf'<label for="r{top.id}-\w+">{label}</label>', frag), label


def test_threads_stop_at_max_depth(app, client, factory):
    set_settings(app, max_depth=3)
    a = factory.article()
    c0 = factory.comment(a, "depth 0")
    c1 = factory.comment(a, "depth 1", parent=c0)
    c2 = factory.comment(a, "depth 2", parent=c1)
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert f"/comments/{c1.id}/reply" in page
    assert f"/comments/{c2.id}/reply" not in page  # no Reply control at the maximum depth
    # A reply posted to the deepest comment anyway is attached at that depth.
    assert _post(client, a, form(app, parent=c2, body="too deep")).status_code == 303
    with app.app_context():
        c = db.session.scalar(select(Comment).where(Comment.body_source == "too deep"))
        assert c.depth == 2 and c.parent_id == c1.id


def test_comment_body_is_cleaned_and_linkified(app, client, factory):
    a = factory.article()
    body = (
        'Hi <script>alert(1)</script><a href="javascript:alert(2)" onclick="x()">x</a>\n'
        "see https://example.org\n\nbye <img src=x onerror=alert(3)>"
    )
    _post(client, a, form(app, body=body))
    with app.app_context():
        c = db.session.scalar(select(Comment))
    assert c.body_source == body  # the source is kept to re-clean later
    html = c.body_html
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html and "<img" not in html
    assert '<a href="https://example.org" rel="nofollow ugc">https://example.org</a>' in html
    assert "<br>" in html and html.count("<p>") == 2


def test_author_website_links_with_nofollow_and_email_is_never_shown(app, client, factory):
    a = factory.article()
    _post(client, a, form(app, name="Web Person", website="https://person.example", email="secret@example.org"))
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert '<a href="https://person.example" rel="nofollow ugc">Web Person</a>' in page
    assert "secret@example.org" not in page


def test_user_content_is_marked_and_escaped(app, client, factory):
    a = factory.article()
    _post(client, a, form(app, name='<img src=x onerror="alert(1)">'))
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert "&lt;img src=x onerror=" in page
    assert 'class="comment__author" id="comment-author-' in page and "data-user-content" in page


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Please enter your name."),
        ({"body": "   "}, "Please write a comment."),
        ({"body": "x" * 10_001}, "Comments are limited to 10,000 characters."),
        ({"body": "nul\x00byte"}, "Remove the invalid characters"),
        ({"website": "javascript:alert(1)"}, "starting with http:// or https://"),
        ({"website": "ftp://files.example"}, "starting with http:// or https://"),
        ({"email": "not-an-email"}, "valid email address"),
    ],
)
def test_bad_fields_get_an_inline_message_and_write_nothing(app, client, htmx, factory, fields, message):
    a = factory.article()
    r = _post(htmx, a, form(app, **fields))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert message in html and 'class="field__error"' in html
    assert "<html" not in html  # a fragment for the form, not a page
    assert r.headers["HX-Retarget"] == "#comment-form" and r.headers["HX-Reswap"] == "outerHTML"
    r = _post(client, a, form(app, **fields))
    assert r.status_code == 422 and message in r.get_data(as_text=True) and "<html" in r.get_data(as_text=True)
    assert _count(app) == 0


@pytest.mark.parametrize("csrf", [False, True])
def test_invalid_utf8_is_refused(make_app, csrf):
    app = make_app(COMMENT_MIN_SECONDS=0, WTF_CSRF_ENABLED=csrf)
    from tests.factories import Factory

    a = Factory(app).article()
    client = app.test_client()
    data = form(app)
    if csrf:  # a real token, the way the browser sends it
        page = client.get(f"/article/{a.slug}").get_data(as_text=True)
        data["csrf_token"] = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    body = "&".join(f"{k}={v}" for k, v in data.items() if k != "body").encode() + b"&body=caf%E9%FF"
    r = client.post(f"/article/{a.slug}/comments", data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 422 and _count(app) == 0


@pytest.mark.parametrize("case", ["missing", "other_article", "pending"])
def test_bad_parent_is_refused(app, client, factory, case):
    a = factory.article()
    other = factory.article("Another story")
    if case == "missing":
        parent_id = "999999"
    elif case == "other_article":
        parent_id = str(factory.comment(other, "elsewhere").id)
    else:
        parent_id = str(factory.comment(a, "waiting", status="pending").id)
    before = _count(app)
    r = _post(client, a, form(app, parent_id=parent_id))
    assert r.status_code == 422
    assert re.search(r"does not exist|another article|awaiting moderation", r.get_data(as_text=True))
    assert _count(app) == before


def test_closed_comments_are_refused(app, client, factory):
    a = factory.article(comments_open=False)
    r = _post(client, a, form(app))
    assert r.status_code == 403 and "Comments are closed" in r.get_data(as_text=True)
    assert "Comments are closed." in client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert _count(app) == 0


def test_comments_close_after_n_days(app, client, factory):
    set_settings(app, close_after_days=7)
    old = factory.article("Old story", days_ago=30)
    fresh = factory.article("Fresh story", days_ago=1)
    assert _post(client, old, form(app)).status_code == 403
    assert _post(client, fresh, form(app)).status_code == 303


def test_unknown_or_unpublished_article_is_404(app, client, factory):
    draft = factory.article(status="draft")
    assert _post(client, draft, form(app)).status_code == 404
    assert client.post("/article/nope/comments", data=form(app)).status_code == 404


def test_missing_csrf_token_gets_a_friendly_retry(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True, COMMENT_MIN_SECONDS=0)
    from tests.factories import Factory

    a = Factory(app).article()
    client = app.test_client()
    r = client.post(f"/article/{a.slug}/comments", data=form(app, body="keep my words"), headers={"HX-Request": "true"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Your session expired" in html and "keep my words" in html  # nothing the reader typed is lost
    assert 'name="csrf_token"' in html  # a fresh token to retry with
    assert _count(app) == 0


def test_oversize_request_is_413(app, client, factory):
    a = factory.article()
    r = _post(client, a, form(app, body="x" * (2 * 1024 * 1024)))
    assert r.status_code == 413 and _count(app) == 0


# ---------------------------------------------------------------- spam defences


def test_honeypot_filled_is_refused(app, client, factory):
    a = factory.article()
    r = _post(client, a, form(app, homepage="http://spam.example"))
    assert r.status_code == 400 and _count(app) == 0


def test_posting_faster_than_three_seconds_is_refused(make_app, factory):
    app = make_app()  # the real 3-second rule
    from tests.factories import Factory

    a = Factory(app).article()
    client = app.test_client()
    r = client.post(f"/article/{a.slug}/comments", data=form(app, seconds_ago=0.5))
    assert r.status_code == 429 and "take a moment" in r.get_data(as_text=True)
    assert client.post(f"/article/{a.slug}/comments", data=form(app, seconds_ago=4)).status_code == 303


def test_form_older_than_a_day_or_forged_is_refused(app, client, factory):
    a = factory.article()
    r = _post(client, a, form(app, seconds_ago=2 * 86400))
    assert r.status_code == 400 and "expired" in r.get_data(as_text=True)
    r = _post(client, a, form(app, issued="1700000000.forged"))
    assert r.status_code == 400 and "could not be verified" in r.get_data(as_text=True)
    assert _count(app) == 0


def test_flood_interval_per_ip(app, client, factory):
    set_settings(app, flood_seconds=15)
    a = factory.article()
    assert _post(client, a, form(app, body="one")).status_code == 303
    r = _post(client, a, form(app, body="two"))
    assert r.status_code == 429 and "too quickly" in r.get_data(as_text=True)
    other_ip = _post(client, a, form(app, body="three"), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other_ip.status_code == 303
    assert _count(app) == 2


def test_rate_limit_per_ip(make_app, factory):
    app = make_app(RATELIMIT_ENABLED=True, COMMENT_MIN_SECONDS=0)
    set_settings(app, flood_seconds=0)
    from tests.factories import Factory

    a = Factory(app).article()
    client = app.test_client()
    codes = [
        client.post(f"/article/{a.slug}/comments", data=form(app, body=f"comment {i}")).status_code for i in range(22)
    ]
    assert codes[:20] == [303] * 20 and codes[-1] == 429


def test_duplicate_comment_is_refused(app, client, factory):
    set_settings(app, flood_seconds=0)
    a = factory.article()
    assert _post(client, a, form(app, body="Same words")).status_code == 303
    r = _post(client, a, form(app, body="Same words"))
    assert r.status_code == 409 and "already said that" in r.get_data(as_text=True)
    assert _count(app) == 1


@pytest.mark.parametrize(
    ("settings", "fields", "status"),
    [
        ({}, {"body": "see http://a.example http://b.example http://c.example"}, "pending"),
        ({}, {"body": "see http://a.example and http://b.example"}, "approved"),
        ({"block_words": "casino\nviagra"}, {"body": "Best CASINO deals"}, "spam"),
        ({"hold_words": "idiot"}, {"body": "what an idiot"}, "pending"),
        ({"banned_ips": "127.0.0.1"}, {}, "spam"),
        ({"banned_emails": "troll@example.org"}, {"email": "Troll@example.org"}, "spam"),
        ({"moderation": "all"}, {}, "pending"),
        ({"moderation": "first_time"}, {"email": "new@example.org"}, "pending"),
    ],
)
def test_moderation_rules_decide_the_status(app, client, factory, settings, fields, status):
    set_settings(app, **settings)
    a = factory.article()
    _post(client, a, form(app, **fields))
    with app.app_context():
        assert db.session.scalar(select(Comment.status)) == status


def test_first_time_policy_approves_returning_commenters(app, client, factory):
    set_settings(app, moderation="first_time", flood_seconds=0)
    a = factory.article()
    factory.comment(a, "old approved", name="Ann Reader", author_email="ann@example.org")
    _post(client, a, form(app, email="ann@example.org", body="second time"))
    with app.app_context():
        assert db.session.scalar(select(Comment.status).where(Comment.body_source == "second time")) == "approved"


def test_author_sees_own_pending_comment_others_do_not(app, factory):
    set_settings(app, moderation="all")
    a = factory.article()
    author, stranger = app.test_client(), app.test_client()
    r = _post(author, a, form(app, body="Awaiting words"))
    assert r.status_code == 303
    mine = author.get(f"/article/{a.slug}").get_data(as_text=True)
    assert "Awaiting words" in mine and "Your comment is awaiting moderation." in mine
    theirs = stranger.get(f"/article/{a.slug}").get_data(as_text=True)
    assert "Awaiting words" not in theirs
    assert '<span id="comment-count">0 Comments</span>' in mine  # the count is of approved comments


def test_forged_own_cookie_shows_nothing(app, factory):
    set_settings(app, moderation="all")
    a = factory.article()
    c = factory.comment(a, "Someone else's pending", status="pending")
    client = app.test_client()
    client.set_cookie("gz_own", f"[{c.id}]")
    assert "Someone else" not in client.get(f"/article/{a.slug}").get_data(as_text=True)


def test_remember_me_only_with_consent(app, client, factory):
    set_settings(app, flood_seconds=0)
    a = factory.article()
    r = _post(client, a, form(app, name="Forgettable", body="one"))
    assert "gz_commenter=" not in " ".join(r.headers.getlist("Set-Cookie")).replace("gz_commenter=;", "")
    r = _post(client, a, form(app, name="Memorable", email="m@example.org", body="two", remember="y"))
    assert any(h.startswith("gz_commenter=") and "Expires" in h for h in r.headers.getlist("Set-Cookie"))
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert 'value="Memorable"' in page and 'value="m@example.org"' in page


# ---------------------------------------------------------------- threads


def test_threads_paginate_with_page_links(app, client, factory):
    set_settings(app, threads_per_page=2)
    a = factory.article()
    for i in range(5):
        top = factory.comment(a, f"thread {i}", minutes_ago=100 - i)
        factory.comment(a, f"reply to {i}", parent=top, minutes_ago=50 - i)
    p1 = client.get(f"/article/{a.slug}").get_data(as_text=True)
    p3 = client.get(f"/article/{a.slug}?cpage=3").get_data(as_text=True)
    assert "thread 0" in p1 and "reply to 1" in p1 and "thread 2" not in p1
    assert "thread 4" in p3 and "thread 0" not in p3
    assert f'href="/article/{a.slug}?cpage=2#comments"' in p1
    assert '<ol id="comment-list" class="comment-list" start="5"' in p3


def test_newest_first_order(app, client, factory):
    set_settings(app, thread_order="newest")
    a = factory.article()
    factory.comment(a, "older thread", minutes_ago=10)
    factory.comment(a, "newer thread", minutes_ago=1)
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert page.index("newer thread") < page.index("older thread")


def test_removed_comment_keeps_its_replies_as_a_placeholder(app, client, factory):
    a = factory.article()
    top = factory.comment(a, "Nasty words", status="trash")
    factory.comment(a, "A fair reply", parent=top)
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert "Nasty words" not in page and "This comment was removed." in page and "A fair reply" in page


def test_comment_counts_follow_status(app, client, factory):
    a = factory.article()
    factory.comment(a, "shown")
    factory.comment(a, "held", status="pending")
    with app.app_context():
        assert db.session.get(Article, a.id).comment_count == 1
    assert "1 comment" in client.get("/").get_data(as_text=True)


# ---------------------------------------------------------------- own edits, reports, new-comment notice


def _own(client, app, article, body="Mine"):
    r = _post(client, article, form(app, body=body))
    assert r.status_code == 303
    return int(r.headers["Location"].rsplit("-", 1)[1])


def test_author_can_edit_and_delete_within_ten_minutes(app, client, htmx, factory):
    set_settings(app, flood_seconds=0)
    a = factory.article()
    cid = _own(client, app, a)
    assert "Edit</a>" in client.get(f"/article/{a.slug}").get_data(as_text=True)
    r = client.post(f"/comments/{cid}/edit", data={f"edit{cid}-body": "Mine, fixed <script>x</script>"})
    assert r.status_code == 303
    with app.app_context():
        c = db.session.get(Comment, cid)
        assert c.body_html == "<p>Mine, fixed x</p>"
    # Someone else cannot.
    assert app.test_client().post(f"/comments/{cid}/edit", data={f"edit{cid}-body": "hijack"}).status_code == 403
    assert client.post(f"/comments/{cid}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(Comment, cid).status == "trash"
        assert db.session.get(Article, a.id).comment_count == 0


def test_edit_window_closes_after_ten_minutes(app, client, factory):
    a = factory.article()
    cid = _own(client, app, a)
    with app.app_context():
        c = db.session.get(Comment, cid)
        c.created_at = utcnow() - timedelta(minutes=11)
        db.session.commit()
    assert client.post(f"/comments/{cid}/edit", data={f"edit{cid}-body": "late"}).status_code == 403
    assert client.post(f"/comments/{cid}/delete").status_code == 403
    assert "Edit</a>" not in client.get(f"/article/{a.slug}").get_data(as_text=True)


def test_report_once_per_reader_and_hold_after_three(app, factory):
    a = factory.article()
    c = factory.comment(a, "Contested")
    readers = [app.test_client() for _ in range(3)]
    for i, reader in enumerate(readers):
        r = reader.post(
            f"/comments/{c.id}/report",
            data={f"report{c.id}-reason": "abuse"},
            environ_base={"REMOTE_ADDR": f"203.0.113.{i + 1}"},
        )
        assert "Thank you" in r.get_data(as_text=True)
        if i == 0:
            again = reader.post(
                f"/comments/{c.id}/report",
                data={f"report{c.id}-reason": "spam"},
                environ_base={"REMOTE_ADDR": "203.0.113.1"},
            )
            assert "already reported" in again.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Comment, c.id)
        assert row.report_count == 3 and row.status == "pending"


def test_report_needs_a_reason(app, client, factory):
    a = factory.article()
    c = factory.comment(a)
    r = client.post(f"/comments/{c.id}/report", data={})
    assert r.status_code == 422 and "Choose a reason" in r.get_data(as_text=True)


def test_new_comments_notice(app, htmx, factory):
    a = factory.article()
    first = factory.comment(a, "first")
    url = f"/article/{a.slug}/comments/new?after={first.id}"
    assert htmx.get(url).status_code == 204
    factory.comment(a, "second")
    factory.comment(a, "third")
    r = htmx.get(url)
    assert r.status_code == 200 and "2 new comments" in r.get_data(as_text=True)
    section = htmx.get(f"/article/{a.slug}/comments").get_data(as_text=True)
    assert section.startswith('<section id="comments"') and "third" in section
