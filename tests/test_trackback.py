"""TrackBack 1.2 over real HTTP: a blog engine's client POSTs to a running Gazette,
which fetches the citing page from another real server to verify it."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode
from xml.etree import ElementTree

import feedparser
import pytest
from sqlalchemy import func, select

from extensions import db
from models import Article, Comment
from services import settings as site_settings
from tests.live import LiveServer
from tests.remote_site import RemoteSite


@pytest.fixture
def live(app):
    app.config.update(ALLOW_PRIVATE_FETCH=True, LINKBACK_FETCH_TIMEOUT=1.0)
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def remote():
    with RemoteSite() as site:
        yield site


def send_trackback(
    tb_url: str, fields: dict, charset: str | None = None, content_type: str | None = None, method: str = "POST"
):
    """What a blog engine sends: a form-encoded POST (spec §"Sending a TrackBack ping")."""
    body = urlencode(fields, encoding=charset or "utf-8").encode("ascii") if method == "POST" else None
    ctype = content_type or "application/x-www-form-urlencoded" + (f"; charset={charset}" if charset else "")
    req = urllib.request.Request(tb_url, data=body, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type"), err.read()


def answer(raw: bytes) -> tuple[str, str | None]:
    root = ElementTree.fromstring(raw)
    assert root.tag == "response"
    return root.findtext("error"), root.findtext("message")


def linkbacks(app, article_id: int) -> list[Comment]:
    with app.app_context():
        rows = db.session.scalars(select(Comment).where(Comment.article_id == article_id).order_by(Comment.id)).all()
        for r in rows:
            db.session.expunge(r)
        return list(rows)


def set_discussion(app, **changes) -> None:
    with app.app_context():
        s = site_settings.load()
        for k, v in changes.items():
            setattr(s, k, v)
        site_settings.save(s)
        db.session.commit()


def fields_for(source: str, **extra) -> dict:
    return {
        "title": "Harbour wall: what the council did not say",
        "url": source,
        "excerpt": "The repairs were announced on Tuesday.",
        "blog_name": "Saltmarsh Notes",
        **extra,
    }


# ---------------------------------------------------------------- accepted


def test_trackback_from_a_blog_engine_is_accepted_and_shown(app, factory, live, remote):
    article = factory.article(title="Harbour wall repairs")
    source = remote.linking_page("/2024/harbour", live.article_url(article))
    status, ctype, raw = send_trackback(live.trackback_url(article), fields_for(source))

    assert status == 200
    assert ctype.startswith("text/xml")
    assert raw.decode().startswith('<?xml version="1.0" encoding="utf-8"?>')
    assert answer(raw) == ("0", None)
    # The citing page was fetched to check it links to us.
    assert [h.path for h in remote.hits] == ["/2024/harbour"]

    [lb] = linkbacks(app, article.id)
    assert (lb.kind, lb.status, lb.source_url, lb.author_name) == ("trackback", "approved", source, "Saltmarsh Notes")
    with app.app_context():
        a = db.session.get(Article, article.id)
        assert (a.comment_count, a.linkback_count) == (0, 1)

    page = urllib.request.urlopen(live.article_url(article)).read().decode()
    assert "1 Trackback" in page
    item = re.search(r'<li id="comment-\d+" class="linkback linkback--trackback">.*?</li>', page, re.S).group(0)
    assert '<span class="linkback__site" data-user-content>Saltmarsh Notes</span>' in item
    title = "Harbour wall: what the council did not say"
    assert f'<a href="{source}" rel="nofollow ugc" data-user-content>{title}</a>' in item
    assert '<p class="linkback__excerpt" data-user-content>The repairs were announced on Tuesday.</p>' in item


def test_trackback_appears_in_the_comments_feed(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/post", live.article_url(article))
    send_trackback(live.trackback_url(article), fields_for(source))
    feed = feedparser.parse(urllib.request.urlopen(f"{live.article_url(article)}/feed").read())
    assert not feed.bozo
    titles = [e.title for e in feed.entries]
    assert titles == ["Trackback from Saltmarsh Notes: Harbour wall: what the council did not say"]


def test_trackback_with_a_latin1_charset_is_converted_to_utf8(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/caf", live.article_url(article))
    fields = fields_for(source, title="Café à la plage", excerpt="Déjà vu, señor", blog_name="Crème brûlée")
    status, _, raw = send_trackback(live.trackback_url(article), fields, charset="iso-8859-1")
    assert answer(raw) == ("0", None)
    [lb] = linkbacks(app, article.id)
    assert (lb.title, lb.body_source, lb.author_name) == ("Café à la plage", "Déjà vu, señor", "Crème brûlée")


def test_trackback_with_a_shift_jis_charset_is_converted_to_utf8(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/jp", live.article_url(article))
    fields = fields_for(source, title="港の壁の修理", excerpt="火曜日に発表されました。", blog_name="潮見ノート")
    _, _, raw = send_trackback(live.trackback_url(article), fields, charset="shift_jis")
    assert answer(raw) == ("0", None)
    [lb] = linkbacks(app, article.id)
    assert (lb.title, lb.body_source, lb.author_name) == ("港の壁の修理", "火曜日に発表されました。", "潮見ノート")


def test_trackback_charset_may_come_as_a_form_field(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/f", live.article_url(article))
    fields = fields_for(source, title="Café", charset="iso-8859-1")
    body = urlencode(fields, encoding="iso-8859-1").encode()
    req = urllib.request.Request(
        live.trackback_url(article), data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer(urllib.request.urlopen(req).read()) == ("0", None)
    assert linkbacks(app, article.id)[0].title == "Café"


def test_trackback_source_reached_through_redirects_is_verified(app, factory, live, remote):
    article = factory.article()
    remote.linking_page("/new-home", live.article_url(article))
    source = remote.redirect_chain("/old", 2, "/new-home")
    _, _, raw = send_trackback(live.trackback_url(article), fields_for(source))
    assert answer(raw) == ("0", None)


def test_trackback_title_defaults_to_the_page_title(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/t", live.article_url(article), title="From the page", site_name="Page Site")
    _, _, raw = send_trackback(live.trackback_url(article), {"url": source})
    assert answer(raw) == ("0", None)
    [lb] = linkbacks(app, article.id)
    assert (lb.title, lb.author_name, lb.body_source) == ("From the page", "Page Site", "")


def test_remote_markup_is_shown_as_text(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/x", live.article_url(article))
    fields = fields_for(
        source,
        title="<script>alert(1)</script>Title &amp; more",
        excerpt='<img src=x onerror="alert(2)"><b>bold</b> text',
        blog_name='<a href="javascript:alert(3)">Evil</a>',
    )
    assert answer(send_trackback(live.trackback_url(article), fields)[2]) == ("0", None)
    [lb] = linkbacks(app, article.id)
    assert (lb.title, lb.body_source, lb.author_name) == ("alert(1)Title & more", "bold text", "Evil")
    page = urllib.request.urlopen(live.article_url(article)).read().decode()
    assert "<script>alert(1)" not in page and "onerror" not in page and "javascript:alert" not in page
    assert "alert(1)Title &amp; more" in page


# ---------------------------------------------------------------- moderation


def test_page_that_does_not_link_back_is_stored_as_spam(app, factory, live, remote):
    article = factory.article()
    source = remote.plain_page("/unrelated")
    status, _, raw = send_trackback(live.trackback_url(article), fields_for(source))
    error, message = answer(raw)
    assert (status, error) == (200, "1")
    assert "does not link" in message
    [lb] = linkbacks(app, article.id)
    assert lb.status == "spam"
    assert "Saltmarsh Notes" not in urllib.request.urlopen(live.article_url(article)).read().decode()


def test_all_moderated_holds_the_trackback(app, factory, live, remote):
    set_discussion(app, moderation="all")
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    assert answer(send_trackback(live.trackback_url(article), fields_for(source))[2]) == ("0", None)
    assert linkbacks(app, article.id)[0].status == "pending"
    assert "Saltmarsh Notes" not in urllib.request.urlopen(live.article_url(article)).read().decode()


def test_without_verification_nothing_is_fetched_and_the_trackback_waits(app, factory, live, remote):
    set_discussion(app, verify_linkbacks=False)
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    assert answer(send_trackback(live.trackback_url(article), fields_for(source))[2]) == ("0", None)
    assert remote.hits == []
    assert linkbacks(app, article.id)[0].status == "pending"


def test_block_words_send_a_trackback_to_spam(app, factory, live, remote):
    set_discussion(app, block_words="casino")
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    error, message = answer(send_trackback(live.trackback_url(article), fields_for(source, title="Best casino"))[2])
    assert error == "1"
    assert linkbacks(app, article.id)[0].status == "spam"


# ---------------------------------------------------------------- bad input


def test_trackback_get_is_an_error_in_xml(factory, live):
    article = factory.article()
    status, ctype, raw = send_trackback(live.trackback_url(article), {}, method="GET")
    assert status == 200 and ctype.startswith("text/xml")
    error, message = answer(raw)
    assert error == "1" and "POST" in message


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_other_methods_answer_trackback_xml(factory, live, method):
    article = factory.article()
    req = urllib.request.Request(live.trackback_url(article), data=b"url=x", method=method)
    with urllib.request.urlopen(req) as resp:
        assert resp.headers["Content-Type"].startswith("text/xml")
        assert answer(resp.read())[0] == "1"


def test_trackback_without_url_is_an_error(app, factory, live):
    article = factory.article()
    status, ctype, raw = send_trackback(live.trackback_url(article), {"title": "No url", "blog_name": "B"})
    assert status == 200 and ctype.startswith("text/xml")
    assert answer(raw) == ("1", "The url parameter is required.")
    assert linkbacks(app, article.id) == []


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.com/post", "example.com/post", "http://"])
def test_trackback_with_a_non_http_url_is_an_error(app, factory, live, url):
    article = factory.article()
    error, message = answer(send_trackback(live.trackback_url(article), fields_for(url))[2])
    assert error == "1" and "http" in message
    assert linkbacks(app, article.id) == []


def test_trackback_from_a_private_address_is_refused_when_not_allowed(app, factory, live, remote):
    app.config["ALLOW_PRIVATE_FETCH"] = False
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    error, message = answer(send_trackback(live.trackback_url(article), fields_for(source))[2])
    assert error == "1" and "not public" in message
    assert remote.hits == []
    assert linkbacks(app, article.id) == []


def test_trackback_to_an_unknown_article_is_an_error(live):
    _, ctype, raw = send_trackback(f"{live.url}/article/no-such-story/trackback", fields_for("http://example.com/p"))
    assert ctype.startswith("text/xml")
    assert answer(raw)[0] == "1"


@pytest.mark.parametrize("kind", ["draft", "future"])
def test_trackback_to_an_unpublished_article_is_an_error(app, factory, live, kind):
    status, days_ago = ("draft", 1) if kind == "draft" else ("scheduled", -2)
    article = factory.article(status=status, days_ago=days_ago)
    assert answer(send_trackback(live.trackback_url(article), fields_for("http://example.com/p"))[2])[0] == "1"
    assert linkbacks(app, article.id) == []


def test_trackback_when_pings_are_closed_is_an_error(app, factory, live, remote):
    article = factory.article(pings_open=False)
    source = remote.linking_page("/p", live.article_url(article))
    error, message = answer(send_trackback(live.trackback_url(article), fields_for(source))[2])
    assert error == "1" and "closed" in message
    assert remote.hits == [] and linkbacks(app, article.id) == []


def test_a_second_trackback_from_the_same_url_is_refused(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    assert answer(send_trackback(live.trackback_url(article), fields_for(source))[2]) == ("0", None)
    error, message = answer(send_trackback(live.trackback_url(article), fields_for(source))[2])
    assert error == "1" and "already" in message
    assert len(linkbacks(app, article.id)) == 1


def test_a_megabyte_excerpt_is_trimmed_not_stored(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    big = "word " * 180_000  # 900 kB: under the request cap
    started = time.monotonic()
    assert answer(send_trackback(live.trackback_url(article), fields_for(source, excerpt=big))[2]) == ("0", None)
    assert time.monotonic() - started < 5
    [lb] = linkbacks(app, article.id)
    assert len(lb.body_source) <= 1000 and len(lb.body_html) < 1100
    page = urllib.request.urlopen(live.article_url(article)).read().decode()
    shown = re.search(r'<p class="linkback__excerpt" data-user-content>(.*?)</p>', page, re.S).group(1)
    assert len(shown) <= 300 and shown.endswith("…")


def test_a_trackback_over_the_request_cap_is_413_in_xml(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    status, ctype, raw = send_trackback(live.trackback_url(article), fields_for(source, excerpt="x" * 1_100_000))
    assert status == 413 and ctype.startswith("text/xml")
    assert answer(raw)[0] == "1"
    assert linkbacks(app, article.id) == [] and remote.hits == []


def test_an_unknown_charset_is_an_error(app, factory, live):
    article = factory.article()
    error, message = answer(
        send_trackback(
            live.trackback_url(article),
            fields_for("http://example.com/p"),
            content_type="application/x-www-form-urlencoded; charset=x-klingon",
        )[2]
    )
    assert error == "1" and "charset" in message.lower()


@pytest.mark.parametrize("charset", ["utf-7", "base64", "rot13"])
def test_dangerous_or_non_text_charsets_are_refused(app, factory, live, charset):
    article = factory.article()
    raw = send_trackback(
        live.trackback_url(article),
        fields_for("http://example.com/p"),
        content_type=f"application/x-www-form-urlencoded; charset={charset}",
    )[2]
    assert answer(raw)[0] == "1"
    assert linkbacks(app, article.id) == []


def test_bytes_that_are_not_in_the_declared_charset_are_an_error_not_mojibake(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    # Latin-1 bytes sent as UTF-8 (declared, then undeclared).
    for ctype in ("application/x-www-form-urlencoded; charset=utf-8", "application/x-www-form-urlencoded"):
        body = urlencode(fields_for(source, title="Café"), encoding="iso-8859-1").encode()
        req = urllib.request.Request(live.trackback_url(article), data=body, headers={"Content-Type": ctype})
        error, message = answer(urllib.request.urlopen(req).read())
        assert error == "1" and "charset" in message
    assert linkbacks(app, article.id) == []


def test_a_source_that_times_out_is_an_error_without_hanging(app, factory, live, remote):
    article = factory.article()
    source = remote.slow("/slow", 5)
    started = time.monotonic()
    error, message = answer(send_trackback(live.trackback_url(article), fields_for(source))[2])
    assert error == "1" and "too long" in message
    assert time.monotonic() - started < 3
    assert linkbacks(app, article.id) == []


def test_a_huge_source_is_read_only_up_to_the_cap(app, factory, live, remote):
    app.config["LINKBACK_FETCH_MAX_BYTES"] = 256 * 1024
    article = factory.article()
    link = f'<a href="{live.article_url(article)}">cited</a>'
    early = remote.huge("/early", 8 * 1024 * 1024, head=link)
    late = remote.huge("/late", 8 * 1024 * 1024, tail=link)
    started = time.monotonic()
    assert answer(send_trackback(live.trackback_url(article), fields_for(early))[2]) == ("0", None)
    error, _ = answer(send_trackback(live.trackback_url(article), fields_for(late))[2])
    assert error == "1"  # the link is past the part we read
    assert time.monotonic() - started < 5
    assert [lb.status for lb in linkbacks(app, article.id)] == ["approved", "spam"]


def test_too_many_redirects_is_an_error(app, factory, live, remote):
    article = factory.article()
    remote.linking_page("/end", live.article_url(article))
    source = remote.redirect_chain("/hop", 8, "/end")
    error, message = answer(send_trackback(live.trackback_url(article), fields_for(source))[2])
    assert error == "1" and "redirected" in message


def test_a_source_that_is_gone_is_an_error(app, factory, live, remote):
    article = factory.article()
    source = remote.gone("/gone")
    assert answer(send_trackback(live.trackback_url(article), fields_for(source))[2])[0] == "1"
    assert linkbacks(app, article.id) == []


def test_trackbacks_from_one_host_are_rate_limited(make_app, factory, remote):
    app = make_app(RATELIMIT_ENABLED=True, ALLOW_PRIVATE_FETCH=True, LINKBACK_SOURCE_LIMIT="2 per hour")
    article = factory.article()
    with LiveServer(app) as server:
        results = []
        for n in range(3):
            source = remote.linking_page(f"/p{n}", server.article_url(article))
            results.append(answer(send_trackback(server.trackback_url(article), fields_for(source))[2]))
    assert [r[0] for r in results] == ["0", "0", "1"]
    assert "Too many" in results[2][1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 2


# ---------------------------------------------------------------- the article page


def test_article_shows_its_trackback_url_and_rdf(factory, live):
    article = factory.article(title="Ferry -- timetable")
    page = urllib.request.urlopen(live.article_url(article)).read().decode()
    tb = live.trackback_url(article)
    assert f'<p class="trackback-url">Trackback URL: <code>{tb}</code></p>' in page
    links = re.search(r'<p class="discussion__links">(.*?)</p>', page, re.S).group(1)
    assert re.findall(r">([^<]+)</a>", links) == ["Trackback URL", "Comments RSS Feed"]

    comment = re.search(r"<!--\s*(<rdf:RDF.*?</rdf:RDF>)\s*-->", page, re.S)
    assert comment, "the RDF block sits inside an HTML comment"
    rdf = ElementTree.fromstring(comment.group(1).replace("&#x2d;", "-"))
    desc = rdf.find("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert desc.get("{http://madskills.com/public/xml/rss/module/trackback/}ping") == tb
    assert desc.get("{http://purl.org/dc/elements/1.1/}identifier") == live.article_url(article)
    assert desc.get("{http://purl.org/dc/elements/1.1/}title") == "Ferry -- timetable"
    assert "--" not in comment.group(1).split("dc:title=")[1].split('"')[1]


def test_verification_trusts_site_url_not_a_forged_host_header(app, factory, live, remote):
    app.config["SITE_URL"] = "https://gazette.example"
    article = factory.article()
    forged = remote.linking_page("/forged", f"http://evil.example/article/{article.slug}")
    honest = remote.linking_page("/honest", f"https://gazette.example/article/{article.slug}")
    for source in (forged, honest):
        body = urlencode(fields_for(source)).encode()
        req = urllib.request.Request(
            live.trackback_url(article),
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Host": "evil.example"},
        )
        urllib.request.urlopen(req).read()
    assert [(lb.source_url, lb.status) for lb in linkbacks(app, article.id)] == [(forged, "spam"), (honest, "approved")]
