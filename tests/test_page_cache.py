"""Rendered pages are served from the cache until something they show changes."""

from __future__ import annotations

import re

from extensions import db
from models import Article
from tests.comment_helpers import form, set_settings
from tests.factories import Factory


def _get(client, url):
    r = client.get(url)
    return r, r.get_data(as_text=True)


def test_second_visit_is_a_hit_and_changes_show_at_once(app, client, factory):
    a = factory.article("Cached story")
    url = f"/article/{a.slug}"
    first, _ = _get(client, url)
    second, _ = _get(app.test_client(), url)
    assert "X-Page-Cache" not in first.headers and second.headers["X-Page-Cache"] == "hit"
    factory.comment(a, "A brand new comment")  # bumps the article's cache version
    third, html = _get(app.test_client(), url)
    assert "X-Page-Cache" not in third.headers and "A brand new comment" in html


def test_settings_change_renders_afresh(app, factory):
    a = factory.article()
    factory.comment(a, "top")
    app.test_client().get(f"/article/{a.slug}")
    set_settings(app, thread_order="newest")
    r = app.test_client().get(f"/article/{a.slug}")
    assert "X-Page-Cache" not in r.headers


def test_article_edit_renders_afresh(app, factory):
    a = factory.article("Before")
    app.test_client().get(f"/article/{a.slug}")
    with app.app_context():
        db.session.get(Article, a.id).title = "After the edit"
        db.session.commit()
    assert "After the edit" in app.test_client().get(f"/article/{a.slug}").get_data(as_text=True)


def test_front_page_follows_new_articles_and_counts(app, factory):
    a = factory.article("First story")
    app.test_client().get("/")
    factory.article("Second story")
    assert "Second story" in app.test_client().get("/").get_data(as_text=True)
    factory.comment(a, "counted")
    assert "1 comment" in app.test_client().get("/").get_data(as_text=True)


def test_cached_page_gets_fresh_tokens_for_each_visitor(make_app):
    app = make_app(WTF_CSRF_ENABLED=True, COMMENT_MIN_SECONDS=0)
    a = Factory(app).article()
    url = f"/article/{a.slug}"
    app.test_client().get(url)  # fills the cache
    visitor = app.test_client()
    r = visitor.get(url)
    assert r.headers["X-Page-Cache"] == "hit"
    html = r.get_data(as_text=True)
    assert "__gz_" not in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = form(app, body="posted from a cached page")
    data["csrf_token"] = token
    assert visitor.post(url + "/comments", data=data).status_code == 303


def test_personal_pages_are_never_cached(app, factory):
    set_settings(app, moderation="all")
    a = factory.article()
    author = app.test_client()
    author.post(f"/article/{a.slug}/comments", data=form(app, body="My pending words"))
    html = author.get(f"/article/{a.slug}").get_data(as_text=True)
    assert "My pending words" in html
    other = app.test_client().get(f"/article/{a.slug}").get_data(as_text=True)
    assert "My pending words" not in other


def test_a_moderators_edit_shows_at_once(app, factory):
    from models import Comment
    from services import comment_admin

    a = factory.article()
    c = factory.comment(a, "Original words")
    assert "Original words" in app.test_client().get(f"/article/{a.slug}").get_data(as_text=True)
    with app.app_context():
        comment_admin.edit(db.session.get(Comment, c.id), None, name="Reader", email="", url="", body="Edited words")
    html = app.test_client().get(f"/article/{a.slug}").get_data(as_text=True)
    assert "Edited words" in html and "Original words" not in html


def test_listing_counts_follow_discussions_but_article_pages_do_not_depend_on_others(app, factory):
    a = factory.article("One story", days_ago=2)
    b = factory.article("Another story", days_ago=1)
    client = app.test_client()
    client.get("/")
    client.get(f"/article/{a.slug}")
    factory.comment(b, "On the other story")
    assert "1 comment" in app.test_client().get("/").get_data(as_text=True)
    # A comment on another article leaves this article's cached page valid.
    assert app.test_client().get(f"/article/{a.slug}").headers.get("X-Page-Cache") == "hit"
