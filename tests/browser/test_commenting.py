"""Readers comment in a real browser: htmx in place, and the same forms without JavaScript."""

from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Comment
from tests.comment_helpers import set_settings


def _csp_problems(page) -> list[str]:
    return [m for m in page.console_messages if "Content Security Policy" in m or "pageerror" in m]


def _fill(scope, name: str, body: str) -> None:
    scope.get_by_label("Name", exact=True).fill(name)
    scope.get_by_label("Comment", exact=True).fill(body)


def test_post_and_reply_three_levels_deep_without_reload(live_server, live_app, page, factory):
    set_settings(live_app, flood_seconds=0)
    article = factory.article("Browser story")
    page.goto(f"{live_server.url}/article/{article.slug}")
    page.evaluate("window.__no_reload = 1")
    heading = page.locator("#comments h2")
    assert heading.inner_text() == "0 Comments"

    form = page.locator("#comment-form")
    _fill(form, "Ann", "The first word.")
    form.get_by_role("button", name="Post Comment").click()
    first = page.locator(".comment", has_text="The first word.")
    first.wait_for()
    assert heading.inner_text() == "1 Comment"
    assert page.locator("#announcer").inner_text() == "Comment posted."
    # The form is cleared for the next comment.
    assert page.locator("#comment-form").get_by_label("Comment", exact=True).input_value() == ""

    parent = first
    for level, text in enumerate(["Reply one.", "Reply two.", "Reply three."], start=1):
        parent.get_by_role("link", name="Reply").first.click()
        reply_form = parent.locator("form.comment-form").first
        reply_form.wait_for()
        # The reply form's textarea takes the focus, so a keyboard user can type at once.
        page.wait_for_function(
            "() => document.activeElement && document.activeElement.tagName === 'TEXTAREA'", timeout=3000
        )
        _fill(reply_form, f"Replier {level}", text)
        reply_form.get_by_role("button", name="Post Comment").click()
        new = page.locator(".comment", has_text=text).last
        new.wait_for()
        # The reply sits inside its parent's element.
        assert parent.locator(".comment", has_text=text).count() == 1
        parent = page.locator(f"#{new.get_attribute('id')}")
    assert heading.inner_text() == "4 Comments"
    assert page.locator(".comment .comment .comment .comment").count() == 1
    assert page.evaluate("window.__no_reload") == 1  # never reloaded
    assert not _csp_problems(page)
    with live_app.app_context():
        assert db.session.scalar(select(func.max(Comment.depth))) == 3


def test_validation_error_shows_inline_and_keeps_the_text(live_server, live_app, page, factory):
    article = factory.article("Strict story")
    page.goto(f"{live_server.url}/article/{article.slug}")
    form = page.locator("#comment-form")
    form.get_by_label("Comment", exact=True).fill("Words worth keeping")
    form.get_by_role("button", name="Post Comment").click()
    error = page.locator("#comment-form .field__error")
    error.wait_for()
    assert error.inner_text() == "Please enter your name."
    assert page.locator("#comment-form").get_by_label("Comment", exact=True).input_value() == "Words worth keeping"
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 0
    assert not _csp_problems(page)


def test_commenting_without_javascript(live_server, live_app, nojs_page, factory):
    set_settings(live_app, flood_seconds=0)
    article = factory.article("Plain story")
    page = nojs_page
    page.goto(f"{live_server.url}/article/{article.slug}")
    form = page.locator("#comment-form")
    _fill(form, "Nojs", "Posted the old way.")
    form.get_by_role("button", name="Post Comment").click()
    page.wait_for_url("**#comment-*")
    assert page.locator("#comments h2").inner_text() == "1 Comment"
    comment = page.locator(".comment", has_text="Posted the old way.")
    # Reply opens a page with the form; posting it comes back to the new reply.
    comment.get_by_role("link", name="Reply").click()
    page.wait_for_url("**/reply")
    _fill(page.locator("form.comment-form"), "Nojs two", "A reply without scripts.")
    page.get_by_role("button", name="Post Comment").click()
    page.wait_for_url("**#comment-*")
    assert page.locator(".comment .comment", has_text="A reply without scripts.").count() == 1
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 2


def test_new_comments_notice_appears_and_shows_them(make_app, browser, factory):
    from tests.browser.conftest import LiveServer
    from tests.factories import Factory

    app = make_app(WTF_CSRF_ENABLED=True, COMMENT_MIN_SECONDS=0, COMMENT_POLL_SECONDS=1)
    article = Factory(app).article("Lively story")
    with LiveServer(app) as server:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.url}/article/{article.slug}")
        Factory(app).comment(article, "Posted by someone else meanwhile.")
        notice = page.locator("#new-comments", has_text="1 new comment")
        notice.wait_for(timeout=10_000)
        notice.get_by_role("link", name="show").click()
        page.locator(".comment", has_text="Posted by someone else meanwhile.").wait_for()
        assert page.locator("#comments h2").inner_text() == "1 Comment"
        context.close()
