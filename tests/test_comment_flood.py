"""The flood answer's Retry-After says how long the reader really has to wait."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Comment
from tests.comment_helpers import form, set_settings


@pytest.mark.parametrize("limits_on", [True, False])
@pytest.mark.parametrize("htmx", [False, True])
def test_retry_after_is_the_rest_of_the_flood_interval(make_app, limits_on, htmx):
    app = make_app(COMMENT_MIN_SECONDS=0, RATELIMIT_ENABLED=limits_on)
    set_settings(app, flood_seconds=15)
    from tests.factories import Factory

    a = Factory(app).article()
    client = app.test_client()
    headers = {"HX-Request": "true"} if htmx else {}
    assert client.post(f"/article/{a.slug}/comments", data=form(app, body="one"), headers=headers).status_code in (
        201,
        303,
    )
    r = client.post(f"/article/{a.slug}/comments", data=form(app, body="two"), headers=headers)
    assert r.status_code == 429 and "too quickly" in r.get_data(as_text=True)
    assert 1 <= int(r.headers["Retry-After"]) <= 15
    if limits_on:  # the rate limit's own headers are still there
        assert r.headers["X-RateLimit-Limit"] == "20" and r.headers["X-RateLimit-Remaining"] == "18"

    # Ten seconds later, about five are left.
    with app.app_context():
        c = db.session.scalar(select(Comment))
        c.created_at -= timedelta(seconds=10)
        db.session.commit()
    r = client.post(f"/article/{a.slug}/comments", data=form(app, body="two"), headers=headers)
    assert r.status_code == 429 and 4 <= int(r.headers["Retry-After"]) <= 5


def test_retry_after_is_at_least_one_second(app, client, factory):
    set_settings(app, flood_seconds=15)
    a = factory.article()
    assert client.post(f"/article/{a.slug}/comments", data=form(app, body="one")).status_code == 303
    with app.app_context():
        c = db.session.scalar(select(Comment))
        c.created_at -= timedelta(seconds=14, milliseconds=900)
        db.session.commit()
    r = client.post(f"/article/{a.slug}/comments", data=form(app, body="two"))
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"


def test_retry_after_follows_the_setting(app, client, factory):
    set_settings(app, flood_seconds=120)
    a = factory.article()
    assert client.post(f"/article/{a.slug}/comments", data=form(app, body="one")).status_code == 303
    r = client.post(f"/article/{a.slug}/comments", data=form(app, body="two"))
    assert r.status_code == 429 and 119 <= int(r.headers["Retry-After"]) <= 120
