"""A comment form's signed time stamp is good for one accepted comment."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Comment
from tests.comment_helpers import form, set_settings, stamp

ISSUED = re.compile(r'name="issued" type="hidden" value="([^"]+)"')
USED = "This form was already used"


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


def _post(client, article, data, **kw):
    return client.post(f"/article/{article.slug}/comments", data=data, **kw)


@pytest.mark.parametrize("limits_on", [False, True])
def test_one_stamp_posts_one_comment(make_app, limits_on):
    # The stamp rule is not a rate limit: it holds with rate limits switched off too.
    app = make_app(COMMENT_MIN_SECONDS=0, RATELIMIT_ENABLED=limits_on)
    set_settings(app, flood_seconds=0)
    from tests.factories import Factory

    a = Factory(app).article()
    client = app.test_client()
    issued = stamp(app)
    assert _post(client, a, form(app, body="first", issued=issued)).status_code == 303
    r = _post(client, a, form(app, body="second", issued=issued))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert USED in html and "second" in html  # the reader's words are kept
    fresh = ISSUED.search(html).group(1)
    assert fresh != issued
    # The form came back with a fresh stamp: posting it again works.
    assert _post(client, a, form(app, body="second", issued=fresh)).status_code == 303
    assert _post(client, a, form(app, body="third", issued=fresh)).status_code == 422
    assert _count(app) == 2


def test_sixty_posts_from_one_stamp_store_one(app, client, factory):
    set_settings(app, flood_seconds=0)
    a = factory.article()
    issued = stamp(app)
    codes = [_post(client, a, form(app, body=f"spam {i}", issued=issued)).status_code for i in range(60)]
    assert codes[0] == 303 and set(codes[1:]) == {422}
    assert _count(app) == 1


def test_a_refused_post_does_not_use_the_stamp(app, client, factory):
    a = factory.article()
    issued = stamp(app)
    r = _post(client, a, form(app, name="", issued=issued))
    assert r.status_code == 422 and "Please enter your name." in r.get_data(as_text=True)
    assert ISSUED.search(r.get_data(as_text=True)).group(1) != issued  # a fresh one to retry with
    # The refused post counted for nothing: the same stamp still posts once.
    assert _post(client, a, form(app, issued=issued)).status_code == 303
    assert _count(app) == 1


def test_a_flood_refusal_does_not_use_the_stamp(app, client, factory):
    set_settings(app, flood_seconds=15)
    a = factory.article()
    assert _post(client, a, form(app, body="one")).status_code == 303
    issued = stamp(app)
    assert _post(client, a, form(app, body="two", issued=issued)).status_code == 429
    with app.app_context():  # the interval passes
        from datetime import timedelta

        c = db.session.scalar(select(Comment))
        c.created_at -= timedelta(seconds=60)
        db.session.commit()
    assert _post(client, a, form(app, body="two", issued=issued)).status_code == 303


def test_htmx_gives_the_comment_form_a_fresh_stamp_after_each_post(app, htmx, factory):
    """With htmx the form stays on the page; the answer swaps a fresh stamp into it."""
    set_settings(app, flood_seconds=0)
    a = factory.article()
    page = htmx.get(f"/article/{a.slug}", headers={"HX-Request": ""}).get_data(as_text=True)
    issued = ISSUED.search(page).group(1)
    r = htmx.post(f"/article/{a.slug}/comments", data=form(app, body="first", issued=issued))
    assert r.status_code == 201
    html = r.get_data(as_text=True)
    oob = re.search(r'<input id="issued" name="issued" type="hidden" value="([^"]+)" hx-swap-oob="true">', html)
    assert oob and oob.group(1) != issued
    again = htmx.post(f"/article/{a.slug}/comments", data=form(app, body="second", issued=oob.group(1)))
    assert again.status_code == 201
    assert _count(app) == 2


def test_a_reply_answer_swaps_no_stamp(app, htmx, factory):
    """A reply form is closed after posting (its slot is replaced); the page's main form keeps its own stamp."""
    a = factory.article()
    top = factory.comment(a, "Top")
    r = htmx.post(f"/article/{a.slug}/comments", data=form(app, parent=top, body="A reply"))
    assert r.status_code == 201 and 'name="issued"' not in r.get_data(as_text=True)


def test_every_page_view_gets_its_own_stamp(app, client, factory):
    a = factory.article()
    first = ISSUED.search(client.get(f"/article/{a.slug}").get_data(as_text=True)).group(1)
    second = ISSUED.search(client.get(f"/article/{a.slug}").get_data(as_text=True)).group(1)
    assert first != second


def test_the_store_being_down_lets_comments_through(app, client, factory, monkeypatch):
    from services import discussion

    class Down:
        def test(self, *a, **k):
            raise ConnectionError("store down")

        hit = clear = test

    monkeypatch.setattr(discussion, "_stamp_store", lambda: Down())
    a = factory.article()
    assert _post(client, a, form(app)).status_code == 303
