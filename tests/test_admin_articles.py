"""Writing and publishing articles from the dashboard, lead images, categories and tags."""

from __future__ import annotations

import io
import os
import sys
import types
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from extensions import db
from models import Article, AuditEntry, Category, Tag, utcnow
from tests import admin_helpers
from tests.admin_helpers import HX, csrf_token_from

auth = admin_helpers.auth
admin_client = admin_helpers.admin_client
editor_client = admin_helpers.editor_client


def image_bytes(fmt="JPEG", size=(800, 500), color=(30, 90, 160), noise=False) -> bytes:
    img = Image.new("RGB", size, color)
    if noise:
        img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def form(**overrides) -> dict:
    data = {
        "title": "Harbour wall repairs begin",
        "slug": "",
        "excerpt": "",
        "body_md": "The work starts **today**.\n\n## Why\n\nStorms.",
        "byline": "",
        "status": "draft",
        "publish_at": "",
        "comments_open": "y",
        "pings_open": "y",
        "ping_urls": "",
        "new_categories": "",
        "tags": "",
        "lead_image_caption": "",
        "lead_image_alt": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _articles(app):
    with app.app_context():
        return list(db.session.scalars(select(Article).order_by(Article.id)))


def _files(app) -> list[str]:
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- creating and publishing


def test_new_article_form_has_every_field(admin_client):
    html = admin_client.get("/admin/articles/new").get_data(as_text=True)
    for label in ("Title", "Slug", "Body", "Lead image", "Alt text", "Caption", "Tags", "Publish time (UTC)"):
        assert f">{label}</label>" in html, label
    assert 'enctype="multipart/form-data"' in html
    assert 'hx-post="/admin/articles/preview"' in html


def test_a_draft_gets_a_slug_from_its_title(app, admin_client, client):
    r = admin_client.post("/admin/articles/new", data=form())
    assert r.status_code == 303
    [a] = _articles(app)
    assert a.slug == "harbour-wall-repairs-begin" and a.status == "draft" and a.published_at is None
    assert "<strong>today</strong>" in a.body_html and a.excerpt.startswith("The work starts today")
    assert "Draft “Harbour wall repairs begin” saved." in admin_client.get(r.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/article/{a.slug}").status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEntry.action).where(AuditEntry.target_type == "article")) == "article.create"
        )


def test_publishing_makes_the_article_public(app, admin_client):
    admin_client.post("/admin/articles/new", data=form(status="published", byline="Ann Reporter"))
    [a] = _articles(app)
    assert a.status == "published" and a.published_at <= utcnow()
    page = admin_client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert "<h1" in page and "Harbour wall repairs begin" in page and "By Ann Reporter" in page


def test_publishing_notifies_linked_sites_when_the_service_exists(app, admin_client, monkeypatch):
    calls = []
    fake = types.ModuleType("services.linkbacks")
    fake.notify_article = calls.append
    monkeypatch.setitem(sys.modules, "services.linkbacks", fake)
    admin_client.post("/admin/articles/new", data=form(title="Draft only"))
    assert calls == []
    admin_client.post("/admin/articles/new", data=form(title="Out now", status="published"))
    published = [a for a in _articles(app) if a.title == "Out now"][0]
    assert calls == [published.id]
    admin_client.post(f"/admin/articles/{published.id}/edit", data=form(title="Out now, updated", status="published"))
    assert calls == [published.id, published.id]
    future = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    admin_client.post("/admin/articles/new", data=form(title="Later", status="scheduled", publish_at=future))
    later = [a for a in _articles(app) if a.title == "Later"][0]
    assert calls[-1] == later.id


def test_a_failing_notifier_does_not_block_publishing(app, admin_client, monkeypatch):
    fake = types.ModuleType("services.linkbacks")

    def boom(article_id):
        raise RuntimeError("network down")

    fake.notify_article = boom
    monkeypatch.setitem(sys.modules, "services.linkbacks", fake)
    assert admin_client.post("/admin/articles/new", data=form(status="published")).status_code == 303
    assert _articles(app)[0].status == "published"


def test_scheduling_needs_a_future_time(app, admin_client, client):
    past = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    r = admin_client.post("/admin/articles/new", data=form(status="scheduled", publish_at=past))
    assert r.status_code == 422
    assert "That time has passed." in r.get_data(as_text=True)
    assert _articles(app) == []
    missing = admin_client.post("/admin/articles/new", data=form(status="scheduled"))
    assert "Choose when the article should appear." in missing.get_data(as_text=True)
    future = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    ok = admin_client.post("/admin/articles/new", data=form(status="scheduled", publish_at=future))
    assert ok.status_code == 303
    [a] = _articles(app)
    assert a.status == "scheduled" and not a.is_visible
    assert client.get(f"/article/{a.slug}").status_code == 404
    assert "is scheduled for" in admin_client.get(ok.headers["Location"]).get_data(as_text=True)


def test_published_with_a_future_time_is_refused(app, admin_client):
    future = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = admin_client.post("/admin/articles/new", data=form(status="published", publish_at=future))
    assert r.status_code == 422 and "choose Scheduled" in r.get_data(as_text=True)
    assert _articles(app) == []


def test_a_malformed_date_says_how_to_write_it(app, admin_client):
    r = admin_client.post("/admin/articles/new", data=form(status="scheduled", publish_at="next tuesday"))
    assert r.status_code == 422 and "Enter a date and time" in r.get_data(as_text=True)


def test_empty_title_is_refused(app, admin_client):
    r = admin_client.post("/admin/articles/new", data=form(title="   "))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Give the article a title." in html and "Nothing was saved" in html
    assert _articles(app) == []


def test_publishing_needs_a_body(app, admin_client):
    r = admin_client.post("/admin/articles/new", data=form(status="published", body_md=""))
    assert r.status_code == 422 and "Write the article before publishing it." in r.get_data(as_text=True)


def test_a_duplicate_slug_is_refused_with_the_owner_named(app, admin_client, factory):
    factory.article("Existing story", slug="harbour-news")
    r = admin_client.post("/admin/articles/new", data=form(slug="Harbour News"))
    assert r.status_code == 422
    assert "“harbour-news” is already used by “Existing story”" in r.get_data(as_text=True)
    assert len(_articles(app)) == 1


def test_an_automatic_slug_avoids_taken_ones(app, admin_client, factory):
    factory.article("Harbour wall repairs begin")
    admin_client.post("/admin/articles/new", data=form())
    assert [a.slug for a in _articles(app)] == ["harbour-wall-repairs-begin", "harbour-wall-repairs-begin-2"]


def test_editing_keeps_the_slug_and_can_change_it(app, admin_client, factory):
    a = factory.article("Old title", status="draft")
    r = admin_client.post(f"/admin/articles/{a.id}/edit", data=form(title="New title", slug=a.slug))
    assert r.status_code == 303
    assert _articles(app)[0].slug == a.slug and _articles(app)[0].title == "New title"
    admin_client.post(f"/admin/articles/{a.id}/edit", data=form(title="New title", slug="brand-new"))
    assert _articles(app)[0].slug == "brand-new"


def test_editing_a_missing_article_is_404(admin_client):
    assert admin_client.get("/admin/articles/999/edit").status_code == 404


def test_trackback_urls_must_be_web_addresses(app, admin_client):
    r = admin_client.post("/admin/articles/new", data=form(ping_urls="https://ok.example/tb\nftp://nope.example/"))
    assert r.status_code == 422 and "is not a web address" in r.get_data(as_text=True)
    ok = admin_client.post("/admin/articles/new", data=form(ping_urls="https://a.example/tb\nhttps://a.example/tb"))
    assert ok.status_code == 303 and _articles(app)[0].ping_urls == "https://a.example/tb"


def test_comment_and_ping_switches(app, admin_client):
    data = form()
    del data["comments_open"]
    admin_client.post("/admin/articles/new", data=data)
    a = _articles(app)[0]
    assert a.comments_open is False and a.pings_open is True


def test_categories_and_tags_are_created_on_the_fly(app, admin_client, factory):
    factory.article("Seed", categories=["News"], tags=["harbour"])
    with app.app_context():
        news_id = db.session.scalar(select(Category.id).where(Category.name == "News"))
    admin_client.post(
        "/admin/articles/new",
        data={**form(new_categories="Weather, news", tags="Harbour, regatta, HARBOUR, "), "categories": [str(news_id)]},
    )
    a = [x for x in _articles(app) if x.title != "Seed"][0]
    with app.app_context():
        a = db.session.get(Article, a.id)
        assert sorted(c.name for c in a.categories) == ["News", "Weather"]
        assert sorted(t.name for t in a.tags) == ["harbour", "regatta"]
        assert db.session.scalar(select(func.count()).select_from(Tag)) == 2
        assert db.session.scalar(select(func.count()).select_from(Category)) == 2


def test_live_preview_renders_clean_markdown(admin_client):
    r = admin_client.post(
        "/admin/articles/preview",
        data={"body_md": "## Heading\n\n<script>alert(1)</script>[x](javascript:alert(1)) *em*"},
        headers=HX,
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<h2>Heading</h2>" in html and "<em>em</em>" in html
    assert "<script" not in html and "javascript:" not in html


def test_listing_searches_and_filters_by_status(admin_client, factory):
    factory.article("Ferry timetable changes")
    factory.article("Regatta results", status="draft")
    html = admin_client.get("/admin/articles?q=ferry").get_data(as_text=True)
    assert "Ferry timetable changes" in html and "Regatta results" not in html
    drafts = admin_client.get("/admin/articles?status=draft").get_data(as_text=True)
    assert "Regatta results" in drafts and "Ferry timetable" not in drafts
    assert "No articles match" in admin_client.get("/admin/articles?q=zzz").get_data(as_text=True)


def test_editors_write_and_publish(app, editor_client):
    r = editor_client.post("/admin/articles/new", data=form(status="published"))
    assert r.status_code == 303
    with app.app_context():
        a = db.session.scalar(select(Article))
        assert a.status == "published" and a.author_name == "Editor"


# ---------------------------------------------------------------- lead images


def _post_image(client, data_bytes, filename="photo.jpg", content_type="image/jpeg", **fields):
    data = form(status="published", lead_image_alt="Workers on the harbour wall", **fields)
    data["lead_image"] = (io.BytesIO(data_bytes), filename, content_type)
    return client.post("/admin/articles/new", data=data, content_type="multipart/form-data")


def test_a_lead_image_is_verified_resized_and_served(app, admin_client):
    r = _post_image(admin_client, image_bytes(size=(2400, 1500)), lead_image_caption="The wall at dawn")
    assert r.status_code == 303, r.get_data(as_text=True)
    a = _articles(app)[0]
    assert a.lead_image and a.lead_image.endswith(".jpg") and "photo" not in a.lead_image
    files = _files(app)
    assert len(files) == 2 and a.lead_image in files
    with Image.open(Path(app.config["UPLOAD_DIR"]) / a.lead_image) as img:
        assert img.size == (1600, 1000)
    served = admin_client.get(f"/uploads/{a.lead_image}")
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    page = admin_client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert f'src="/uploads/{a.lead_image}" alt="Workers on the harbour wall"' in page
    assert "The wall at dawn" in page


def test_png_with_transparency_stays_png(app, admin_client):
    img = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    r = _post_image(admin_client, out.getvalue(), filename="logo.png", content_type="image/png")
    assert r.status_code == 303
    a = _articles(app)[0]
    assert a.lead_image.endswith(".png")
    assert admin_client.get(f"/uploads/{a.lead_image}").headers["Content-Type"] == "image/png"


def test_an_image_over_one_megabyte_is_accepted_with_csrf_on(make_app):
    """The upload route raises the 1 MiB request limit before CSRF protection reads the form."""
    from tests.factories import Factory

    app = make_app(WTF_CSRF_ENABLED=True)
    Factory(app).user("admin")
    client = app.test_client()
    token = csrf_token_from(client.get("/admin/login").get_data(as_text=True))
    client.post("/admin/login", data={"username": "admin", "password": admin_helpers.PASSWORD, "csrf_token": token})
    token = csrf_token_from(client.get("/admin/articles/new").get_data(as_text=True))
    big = image_bytes("PNG", size=(1000, 700), noise=True)
    assert len(big) > 1024 * 1024
    r = _post_image(client, big, filename="big.png", content_type="image/png", csrf_token=token)
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    assert len(_files(app)) == 2


def test_a_file_that_is_not_an_image_is_refused(app, admin_client):
    r = _post_image(admin_client, b"MZ\x90\x00 definitely not a picture" * 50, filename="photo.jpg")
    assert r.status_code == 422
    assert "That file is not an image we can read." in r.get_data(as_text=True)
    assert _articles(app) == [] and _files(app) == []


def test_a_truncated_image_is_refused(app, admin_client):
    r = _post_image(admin_client, image_bytes()[:600])
    assert r.status_code == 422 and "not an image we can read" in r.get_data(as_text=True)
    assert _files(app) == []


def test_an_svg_with_script_is_refused(app, admin_client):
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, ctype in (("drawing.svg", "image/svg+xml"), ("innocent.png", "image/png")):
        r = _post_image(admin_client, svg, filename=name, content_type=ctype)
        assert r.status_code == 422
        assert "SVG files are not accepted" in r.get_data(as_text=True)
    assert _articles(app) == [] and _files(app) == []


def test_an_image_over_the_size_limit_is_refused(make_app):
    from tests.factories import Factory

    app = make_app(UPLOAD_MAX_BYTES=30_000)
    Factory(app).user("admin")
    client = app.test_client()
    client.post("/admin/login", data={"username": "admin", "password": admin_helpers.PASSWORD})
    r = _post_image(client, image_bytes("PNG", size=(200, 200), noise=True), filename="a.png", content_type="image/png")
    assert r.status_code == 413
    assert "the limit is 29 KB" in r.get_data(as_text=True)
    assert "Choose a smaller file." in r.get_data(as_text=True)
    # A request far over the limit is cut off before it is read, with the same kind of message.
    huge = _post_image(client, b"\xff" * (700 * 1024), filename="b.jpg")
    assert huge.status_code == 413 and "Choose a smaller file" in huge.get_data(as_text=True)
    assert _articles(app) == [] and _files(app) == []


def test_other_dashboard_forms_keep_the_one_megabyte_limit(admin_client):
    r = admin_client.post("/admin/articles/preview", data={"body_md": "x" * (1100 * 1024)})
    assert r.status_code == 413


def test_a_path_traversal_file_name_is_ignored(app, admin_client, tmp_path):
    r = _post_image(admin_client, image_bytes(), filename="../../../etc/passwd.jpg")
    assert r.status_code == 303
    a = _articles(app)[0]
    assert "/" not in a.lead_image and ".." not in a.lead_image and "passwd" not in a.lead_image
    assert not (tmp_path / "etc").exists()
    assert admin_client.get("/uploads/../instance/secret_key").status_code == 404


def test_alt_text_is_required_with_an_image(app, admin_client):
    data = form(status="draft")
    data["lead_image"] = (io.BytesIO(image_bytes()), "x.jpg", "image/jpeg")
    r = admin_client.post("/admin/articles/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and "Describe the image" in r.get_data(as_text=True)
    assert _files(app) == []


def test_the_lead_image_can_be_removed(app, admin_client):
    _post_image(admin_client, image_bytes())
    a = _articles(app)[0]
    admin_client.post(
        f"/admin/articles/{a.id}/edit",
        data=form(title=a.title, slug=a.slug, status="published", remove_image="y"),
    )
    assert _articles(app)[0].lead_image is None


# ---------------------------------------------------------------- categories and tags screens


def test_categories_screen_adds_renames_and_deletes(app, editor_client, factory):
    factory.article("Tagged", categories=["Sport"])
    r = editor_client.post("/admin/categories", data={"name": "Weather", "slug": "", "description": "Rain."})
    assert r.status_code == 303
    html = editor_client.get("/admin/categories").get_data(as_text=True)
    assert "Weather" in html and "Sport" in html
    dup = editor_client.post("/admin/categories", data={"name": "weather"})
    assert dup.status_code == 422 and "There is already a category called “Weather”." in dup.get_data(as_text=True)
    with app.app_context():
        weather = db.session.scalar(select(Category).where(Category.name == "Weather"))
        sport = db.session.scalar(select(Category).where(Category.name == "Sport"))
    taken = editor_client.post(f"/admin/categories/{weather.id}/edit", data={"name": "Weather", "slug": sport.slug})
    assert taken.status_code == 422 and "already used by another category" in taken.get_data(as_text=True)
    editor_client.post(f"/admin/categories/{weather.id}/edit", data={"name": "Weather & climate", "slug": ""})
    editor_client.post(f"/admin/categories/{sport.id}/delete")
    with app.app_context():
        assert [c.name for c in db.session.scalars(select(Category))] == ["Weather & climate"]
        assert db.session.scalar(select(func.count()).select_from(Article)) == 1


def test_tags_screen(app, admin_client):
    admin_client.post("/admin/tags", data={"name": "Regatta"})
    empty = admin_client.post("/admin/tags", data={"name": ""})
    assert empty.status_code == 422 and "Enter a name." in empty.get_data(as_text=True)
    with app.app_context():
        tag = db.session.scalar(select(Tag))
    assert tag.slug == "regatta"
    assert admin_client.get(f"/admin/tags/{tag.id}/edit").status_code == 200
    assert admin_client.post("/admin/tags/999/delete").status_code == 404


@pytest.mark.parametrize("url", ["/admin/articles/new", "/admin/categories"])
def test_anonymous_cannot_write(client, url):
    assert client.post(url, data={"title": "x", "name": "x"}).status_code == 302


def test_a_scheduled_article_whose_time_came_can_still_be_edited(app, admin_client, factory):
    went_live = utcnow() - timedelta(hours=3)
    a = factory.article("Went live", status="scheduled", published_at=went_live)
    html = admin_client.get(f"/admin/articles/{a.id}/edit").get_data(as_text=True)
    assert '<input checked id="status-1" name="status" type="radio" value="published">' in html
    kept = went_live.strftime("%Y-%m-%dT%H:%M")
    r = admin_client.post(
        f"/admin/articles/{a.id}/edit",
        data=form(title="Went live, fixed", slug=a.slug, status="scheduled", publish_at=kept),
    )
    assert r.status_code == 303
    saved = _articles(app)[0]
    assert saved.title == "Went live, fixed" and saved.published_at == went_live


def test_an_untouched_publish_time_keeps_its_seconds(app, admin_client, factory):
    a = factory.article("Exact", published_at=utcnow().replace(second=42, microsecond=123) - timedelta(days=1))
    shown = a.published_at.strftime("%Y-%m-%dT%H:%M")
    admin_client.post(
        f"/admin/articles/{a.id}/edit", data=form(title="Exact", slug=a.slug, status="published", publish_at=shown)
    )
    assert _articles(app)[0].published_at == a.published_at
