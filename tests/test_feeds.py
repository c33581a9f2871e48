"""Feeds and discovery: RSS 2.0 that parses, sitemap, robots."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

import feedparser


def _parse(client, url):
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/rss+xml")
    feed = feedparser.parse(r.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    return feed


def test_site_feed_lists_published_articles(client, factory):
    factory.article("Visible & <escaped>", categories=["News"])
    factory.article("Hidden draft", status="draft")
    feed = _parse(client, "/feed")
    titles = [e.title for e in feed.entries]
    assert titles == ["Visible & <escaped>"]
    assert feed.entries[0].link == "http://localhost/article/visible-escaped"
    assert feed.entries[0].tags[0].term == "News"


def test_category_feed(client, factory):
    factory.article("Sport story", categories=["Sport"])
    factory.article("News story", categories=["News"])
    feed = _parse(client, "/category/sport/feed")
    assert [e.title for e in feed.entries] == ["Sport story"]
    assert client.get("/category/unknown/feed").status_code == 404


def test_comments_feed_has_approved_comments_only(client, factory):
    a = factory.article()
    factory.comment(a, "Approved <b>words</b>", name="Ann")
    factory.comment(a, "Pending words", name="Bob", status="pending")
    factory.comment(a, "Spam words", name="Spammer", status="spam")
    feed = _parse(client, f"/article/{a.slug}/feed")
    assert [e.title for e in feed.entries] == ["By: Ann"]
    assert "Approved" in feed.entries[0].summary


def test_site_url_setting_makes_links_canonical(make_app, factory):
    app = make_app(SITE_URL="https://news.example.org")
    from tests.factories import Factory

    a = Factory(app).article("Canonical story")
    feed = feedparser.parse(app.test_client().get("/feed").data)
    assert feed.entries[0].link == f"https://news.example.org/article/{a.slug}"


def test_sitemap_lists_articles_categories_tags(client, factory):
    a = factory.article("Mapped", categories=["News"], tags=["Harbour"])
    factory.article("Unmapped draft", status="draft")
    r = client.get("/sitemap.xml")
    root = ET.fromstring(r.data)
    locs = [e.text for e in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert f"http://localhost/article/{a.slug}" in locs
    assert "http://localhost/category/news" in locs and "http://localhost/tag/harbour" in locs
    assert not any("unmapped" in loc for loc in locs)


def test_robots_points_to_sitemap(client):
    body = client.get("/robots.txt").get_data(as_text=True)
    assert "Sitemap: http://localhost/sitemap.xml" in body and "Disallow: /admin/" in body


def test_feed_text_is_escaped_exactly_once(app, client, factory):
    a = factory.article()
    factory.comment(a, "Fish & chips <3 at the quay", name="Ann <b>& co</b>")
    feed = _parse(client, f"/article/{a.slug}/feed")
    entry = feed.entries[0]
    assert entry.title == "By: Ann & co"
    # A description is HTML: the text is escaped for HTML, then for XML, and a reader shows it as typed.
    assert html.unescape(entry.summary) == "Fish & chips <3 at the quay"
