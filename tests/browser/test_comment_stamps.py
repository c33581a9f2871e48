"""A form stamp posts one comment; the browser always has a fresh one for the next."""

from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Comment
from tests.comment_helpers import set_settings


def _post(page, form, name: str, body: str) -> None:
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Comment", exact=True).fill(body)
    form.get_by_role("button", name="Post Comment").click()


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


def test_two_comments_in_a_row_with_htmx(live_server, live_app, page, factory):
    set_settings(live_app, flood_seconds=0)
    article = factory.article("Chatty story")
    page.goto(f"{live_server.url}/article/{article.slug}")
    page.evaluate("window.__no_reload = 1")
    form = page.locator("#comment-form")
    first_stamp = form.locator('input[name="issued"]').input_value()
    _post(page, form, "Ann", "The first of two.")
    page.locator(".comment", has_text="The first of two.").wait_for()
    # The answer swapped a fresh stamp into the form that stayed on the page.
    assert form.locator('input[name="issued"]').input_value() != first_stamp
    _post(page, form, "Ann", "The second of two.")
    page.locator(".comment", has_text="The second of two.").wait_for()
    assert page.locator("#comments h2").inner_text() == "2 Comments"
    assert page.locator("#comment-form .form-error, #comment-form .field__error").count() == 0
    assert page.evaluate("window.__no_reload") == 1
    problems = ("pageerror", "Content Security Policy", "#issued")
    assert not [m for m in page.console_messages if any(p in m for p in problems)]
    assert _count(live_app) == 2


def test_a_used_stamp_is_refused_and_the_form_can_post_again(live_server, live_app, page, factory):
    set_settings(live_app, flood_seconds=0)
    article = factory.article("Replayed story")
    page.goto(f"{live_server.url}/article/{article.slug}")
    form = page.locator("#comment-form")
    used = form.locator('input[name="issued"]').input_value()
    _post(page, form, "Ann", "Posted once.")
    page.locator(".comment", has_text="Posted once.").wait_for()
    # Put the used stamp back, as a replaying script would.
    page.evaluate("(v) => { document.querySelector('#comment-form input[name=issued]').value = v; }", used)
    _post(page, form, "Ann", "Posted with a used form.")
    error = page.locator("#comment-form .form-error")
    error.wait_for()
    assert "already used" in error.inner_text()
    assert page.locator("#comment-form").get_by_label("Comment", exact=True).input_value() == "Posted with a used form."
    # The refused form came back with a fresh stamp: posting again works.
    page.locator("#comment-form").get_by_role("button", name="Post Comment").click()
    page.locator(".comment", has_text="Posted with a used form.").wait_for()
    assert _count(live_app) == 2


def test_two_comments_in_a_row_without_javascript(live_server, live_app, nojs_page, factory):
    set_settings(live_app, flood_seconds=0)
    article = factory.article("Plain chatty story")
    page = nojs_page
    page.goto(f"{live_server.url}/article/{article.slug}")
    for body in ("First, the old way.", "Second, the old way."):
        with page.expect_navigation():
            _post(page, page.locator("#comment-form"), "Nojs", body)
        assert "#comment-" in page.url
    assert page.locator("#comments h2").inner_text() == "2 Comments"
    assert _count(live_app) == 2
