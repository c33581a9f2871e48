"""Every reader-facing page type passes axe-core's WCAG 2.1 AA rules, before and after htmx swaps."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import Article, Comment
from tests.browser.axe_check import violations


@pytest.fixture
def demo(live_app, live_server):
    from services import demo as demo_content

    with live_app.app_context():
        demo_content.seed(live_app)
        article = db.session.scalar(select(Article).order_by(Article.comment_count.desc()).limit(1))
        comment = db.session.scalar(select(Comment).where(Comment.article_id == article.id).limit(1))
        return {"slug": article.slug, "comment": comment.id, "base": live_server.url}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/article/{slug}",
        "/category/news",
        "/tag/council",
        "/comments/{comment}/reply",
        "/comments/{comment}/report",
        "/no-such-page",
    ],
)
def test_page_has_no_axe_violations(demo, page, path):
    page.goto(demo["base"] + path.format(**demo))
    assert violations(page) == []


def test_article_after_htmx_swaps_has_no_axe_violations(demo, page):
    page.goto(f"{demo['base']}/article/{demo['slug']}")
    # Open a reply form in place, then submit it empty to show inline errors.
    page.locator(".comment").first.get_by_role("link", name="Reply").first.click()
    reply = page.locator(".reply-slot form").first
    reply.wait_for()
    reply.get_by_role("button", name="Post Comment").click()
    page.locator(".reply-slot .field__error").first.wait_for()
    assert violations(page) == []


def test_keyboard_alone_can_reply(demo, page):
    page.goto(f"{demo['base']}/article/{demo['slug']}")
    reply = page.locator(".comment").first.get_by_role("link", name="Reply").first
    reply.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.tagName === 'TEXTAREA'")
    page.keyboard.type("Typed without a mouse.")
    page.keyboard.press("Shift+Tab")  # back through the form to the Name field
    name = page.locator(".reply-slot form").first.get_by_label("Name", exact=True)
    name.focus()
    page.keyboard.type("Keyboard Kim")
    page.locator(".reply-slot form").first.get_by_role("button", name="Post Comment").focus()
    page.keyboard.press("Enter")
    page.locator(".comment--new", has_text="Typed without a mouse.").wait_for()
    assert page.locator("#announcer").inner_text() in ("Comment posted.", "Your comment is awaiting moderation.")


def test_the_checker_itself_catches_a_violation(page):
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"><a href="/"></a></main></html>')
    found = violations(page)
    assert any(line.startswith("image-alt") for line in found)
    assert any(line.startswith("link-name") for line in found)
