"""What a reader sees: front page, articles, categories, tags, errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from models import utcnow


def test_healthz_answers_ok_without_database(make_app):
    make_app()  # the fixture cleans up through its first app, which has a database
    # Nothing listens on port 1: this one's database is unreachable.
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = app.test_client()
    r = client.get("/healthz")
    assert r.status_code == 200 and r.data == b"ok"
    assert client.get("/readyz").status_code == 503


def test_readyz_checks_database(client):
    r = client.get("/readyz")
    assert r.status_code == 200 and r.data == b"ok"


def test_front_page_lists_newest_first_with_counts(client, factory):
    old = factory.article("An older story", days_ago=5, categories=["News"])
    new = factory.article("A newer story", days_ago=1, categories=["Sport"])
    factory.comment(new, "First!")
    html = client.get("/").get_data(as_text=True)
    assert html.index("A newer story") < html.index("An older story")
    assert f'href="/article/{old.slug}"' in html
    assert "1 comment" in html and "0 comments" in html
    assert ">Sport<" in html


def test_front_page_paginates(client, factory):
    for i in range(12):
        factory.article(f"Story {i:02d}", days_ago=i + 1)
    first = client.get("/").get_data(as_text=True)
    second = client.get("/?page=2").get_data(as_text=True)
    assert first.count("<article") == 10 and second.count("<article") == 2
    assert 'rel="next"' in first and "Story 11" in second


@pytest.mark.parametrize("bad", ["-1", "0", "abc", "99999999999", "2.5", "1e3"])
def test_bad_page_numbers_are_404_not_500(client, factory, bad):
    factory.article()
    assert client.get(f"/?page={bad}").status_code == 404


def test_page_past_the_end_is_404(client, factory):
    factory.article()
    assert client.get("/?page=2").status_code == 404


def test_article_page_shows_everything_a_reader_expects(client, factory):
    a = factory.article(
        "Harbour works begin",
        categories=["News", "Community"],
        tags=["Harbour", "Council"],
        body_md="The **council** said so.\n\n<script>alert(1)</script>",
        lead_image="pic.jpg",
        lead_image_caption="Boats at dusk.",
        lead_image_alt="Boats in a harbour",
    )
    html = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert re.search(r"<h1[^>]*>Harbour works begin</h1>", html)
    assert "<strong>council</strong>" in html and "<script>alert" not in html
    assert "Boats at dusk." in html and 'alt="Boats in a harbour"' in html
    assert "Read More About" in html and 'href="/tag/harbour"' in html
    assert "Category:" in html and 'href="/category/community"' in html
    assert "Test Reporter" in html
    assert f'<link rel="canonical" href="http://localhost/article/{a.slug}">' in html
    assert '<meta property="og:title" content="Harbour works begin">' in html
    assert f'href="http://localhost/article/{a.slug}/feed"' in html


def test_article_shows_related_and_neighbours(client, factory):
    a = factory.article("Older harbour story", days_ago=3, tags=["Harbour"])
    b = factory.article("Middle story", days_ago=2, tags=["Harbour", "Ferry"])
    c = factory.article("Unrelated newer story", days_ago=1, tags=["Sport"])
    html = client.get(f"/article/{b.slug}").get_data(as_text=True)
    related = html[html.index("Related articles") :]
    assert "Older harbour story" in related and "Unrelated newer story" not in related
    assert f'rel="prev" href="/article/{a.slug}"' in html
    assert f'rel="next" href="/article/{c.slug}"' in html


def test_drafts_and_scheduled_articles_are_invisible(client, factory):
    draft = factory.article("Secret draft", status="draft")
    future = factory.article("Tomorrow's news", status="scheduled", published_at=utcnow() + timedelta(days=1))
    assert client.get(f"/article/{draft.slug}").status_code == 404
    assert client.get(f"/article/{future.slug}").status_code == 404
    front = client.get("/").get_data(as_text=True)
    assert "Secret draft" not in front and "Tomorrow" not in front


def test_scheduled_article_appears_when_its_time_comes(client, factory):
    due = factory.article("Due now", status="scheduled", published_at=utcnow() - timedelta(minutes=1))
    assert client.get(f"/article/{due.slug}").status_code == 200


def test_category_and_tag_pages(client, factory):
    factory.article("In sport", categories=["Sport"], tags=["Football"])
    factory.article("In news", categories=["News"])
    sport = client.get("/category/sport").get_data(as_text=True)
    assert "In sport" in sport and "In news" not in sport
    tag = client.get("/tag/football").get_data(as_text=True)
    assert "In sport" in tag and "In news" not in tag
    assert client.get("/category/nothing-here").status_code == 404
    assert client.get("/tag/nothing-here").status_code == 404


def test_unknown_article_gets_styled_404(client):
    r = client.get("/article/does-not-exist")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "Page not found" in html and "Go to the front page" in html


def test_unexpected_error_gets_styled_500(app, client, monkeypatch):
    from services import articles

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(articles, "front_page", boom)
    r = client.get("/")
    assert r.status_code == 500
    assert "Something went wrong" in r.get_data(as_text=True)
    assert "kaboom" not in r.get_data(as_text=True)


def test_security_headers_on_every_page(client, factory):
    a = factory.article()
    for url in ["/", f"/article/{a.slug}", "/nope", "/feed"]:
        h = client.get(url).headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp and "frame-ancestors 'none'" in csp
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"]
        assert h["Permissions-Policy"]


def test_pages_have_no_inline_script_or_style(client, seeded):
    html = client.get("/").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html


def test_htmx_is_vendored_and_pinned(client):
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "static" / "vendor"
    js = root / "htmx-2.0.11.min.js"
    recorded = (root / "htmx-2.0.11.min.js.sha256").read_text().split()[0]
    assert hashlib.sha256(js.read_bytes()).hexdigest() == recorded
    html = client.get("/").get_data(as_text=True)
    assert "/static/vendor/htmx-2.0.11.min.js" in html


def test_uploads_are_served_from_instance(client, app, factory, tmp_path):
    from pathlib import Path

    folder = Path(app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.jpg").write_bytes(b"\xff\xd8\xff\xe0fakejpeg")
    r = client.get("/uploads/x.jpg")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert client.get("/uploads/../secret_key").status_code == 404
