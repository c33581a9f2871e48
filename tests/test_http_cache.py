"""Conditional GET (ETag / 304) for pages and feeds, and cache lifetimes for static files."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from services.http_cache import page_etag


def _page(client, url, etag=None, **headers):
    if etag:
        headers["If-None-Match"] = etag
    return client.get(url, headers=headers)


def test_article_page_revalidates_to_304_for_the_same_visitor(client, factory):
    a = factory.article("Harbour works begin")
    factory.comment(a, "First!")
    first = _page(client, f"/article/{a.slug}")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    again = _page(client, f"/article/{a.slug}", etag)
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag


def test_pages_are_private_and_vary_on_cookie_and_htmx(client, factory):
    a = factory.article()
    for url in ("/", f"/article/{a.slug}"):
        r = client.get(url)
        assert r.headers["Cache-Control"] == "private, no-cache"
        vary = {v.strip().lower() for v in r.headers["Vary"].split(",")}
        assert {"cookie", "hx-request"} <= vary


def test_another_visitor_never_gets_a_304_for_someone_elses_page(make_app):
    """The page holds a CSRF token tied to the first visitor's session."""
    from tests.factories import Factory

    app = make_app(WTF_CSRF_ENABLED=True)
    a = Factory(app).article()
    etag = app.test_client().get(f"/article/{a.slug}").headers["ETag"]
    assert _page(app.test_client(), f"/article/{a.slug}", etag).status_code == 200


def test_a_new_comment_changes_the_etag(client, factory):
    a = factory.article()
    etag = client.get(f"/article/{a.slug}").headers["ETag"]
    factory.comment(a, "Something new to read.")
    r = _page(client, f"/article/{a.slug}", etag)
    assert r.status_code == 200 and "Something new to read." in r.get_data(as_text=True)


def test_page_and_fragment_have_different_etags(client, factory):
    a = factory.article()
    client.get(f"/article/{a.slug}")  # start the session
    page = client.get(f"/article/{a.slug}").headers["ETag"]
    fragment = client.get(f"/article/{a.slug}/comments", headers={"HX-Request": "true"}).headers["ETag"]
    assert page != fragment


def test_etag_ignores_per_render_tokens_but_not_content():
    def body(token: str, stamp: str, text: str) -> bytes:
        return (
            f'<meta name="csrf-token" content="{token}">'
            f'<input id="r7-csrf_token" name="r7-csrf_token" type="hidden" value="{token}">'
            f'<input id="issued" name="issued" type="hidden" value="{stamp}"><p>{text}</p>'
        ).encode()

    assert page_etag(body("a.1", "s1", "hello")) == page_etag(body("a.2", "s2", "hello"))
    assert page_etag(body("a.1", "s1", "hello")) != page_etag(body("a.1", "s1", "hello!"))
    assert page_etag(body("a.1", "s1", "hello"), "session-1") != page_etag(body("a.1", "s1", "hello"), "session-2")


def test_feeds_are_public_with_a_strong_etag_and_304(client, factory):
    a = factory.article(categories=["News"])
    factory.comment(a, "Feed me.")
    for url in ("/feed", "/category/news/feed", f"/article/{a.slug}/feed"):
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["Cache-Control"].startswith("public, max-age=")
        assert r.headers["ETag"].startswith('"')
        assert "Set-Cookie" not in r.headers
        assert _page(client, url, r.headers["ETag"]).status_code == 304


def test_comments_feed_etag_changes_with_a_new_comment(client, factory):
    a = factory.article()
    factory.comment(a, "One.")
    etag = client.get(f"/article/{a.slug}/feed").headers["ETag"]
    factory.comment(a, "Two.", minutes_ago=1)
    assert _page(client, f"/article/{a.slug}/feed", etag).status_code == 200


def test_healthz_and_errors_are_not_given_etags(client):
    health = client.get("/healthz")
    assert health.headers["Cache-Control"] == "no-store" and "ETag" not in health.headers
    missing = client.get("/article/no-such-story")
    assert missing.status_code == 404 and "ETag" not in missing.headers


def test_posting_is_never_conditional(client, factory):
    a = factory.article()
    r = client.post(f"/article/{a.slug}/comments", data={"name": "A", "body": "Hi."}, headers={"If-None-Match": "*"})
    assert r.status_code != 304 and "ETag" not in r.headers


def _asset_url(client, name: str) -> str:
    html = client.get("/").get_data(as_text=True)
    start = html.index(f"/static/{name}?v=")
    return html[start : html.index('"', start)]


def test_fingerprinted_static_files_are_cached_for_a_year(client, factory):
    factory.article()
    for name in ("css/site.css", "js/site.js"):
        url = _asset_url(client, name)
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        r.close()


def test_static_files_without_the_current_fingerprint_are_revalidated(client, factory):
    factory.article()
    url = _asset_url(client, "css/site.css")
    stale = url.replace(parse_qs(urlsplit(url).query)["v"][0], "0000deadbeef")
    for u in ("/static/css/site.css", stale):
        r = client.get(u)
        assert r.status_code == 200
        assert "immutable" not in r.headers.get("Cache-Control", "")
        r.close()
