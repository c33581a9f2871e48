"""An author's edit is judged by the same rules as a new comment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import Article, Comment
from tests.comment_helpers import form, set_settings

LINKS = " ".join(f"https://spam{i}.example/offer" for i in range(30))


def _own(client, app, article, body="An honest first comment.", **fields) -> int:
    r = client.post(f"/article/{article.slug}/comments", data=form(app, body=body, **fields))
    assert r.status_code == 303, r.get_data(as_text=True)
    return int(r.headers["Location"].rsplit("-", 1)[1])


def _edit(client, cid: int, body: str, **kw):
    return client.post(f"/comments/{cid}/edit", data={f"edit{cid}-body": body}, **kw)


def _row(app, cid: int) -> Comment:
    with app.app_context():
        c = db.session.get(Comment, cid)
        db.session.expunge(c)
        return c


def _article(app, article_id: int) -> Article:
    with app.app_context():
        a = db.session.get(Article, article_id)
        db.session.expunge(a)
        return a


@pytest.mark.parametrize("htmx", [False, True])
def test_an_edit_to_thirty_links_is_held_and_the_author_is_told(app, client, factory, htmx):
    a = factory.article()
    cid = _own(client, app, a)
    before = _article(app, a.id)
    assert before.comment_count == 1

    r = _edit(client, cid, f"Buy now {LINKS}", headers={"HX-Request": "true"} if htmx else {})
    assert r.status_code == 200
    assert "Your edit is awaiting moderation." in r.get_data(as_text=True)
    row = _row(app, cid)
    assert row.status == "pending" and "spam29.example" in row.body_source
    after = _article(app, a.id)
    assert after.comment_count == 0  # the held comment no longer counts
    assert after.cache_version > before.cache_version  # cached pages stop showing it
    if htmx:
        html = r.get_data(as_text=True)
        assert '<span id="comment-count" hx-swap-oob="true">0 Comments</span>' in html
    # Strangers no longer see it; the author still does, marked as waiting.
    assert "spam29.example" not in app.test_client().get(f"/article/{a.slug}").get_data(as_text=True)
    assert "awaiting moderation" in client.get(f"/article/{a.slug}").get_data(as_text=True)


def test_an_edit_with_a_hold_word_is_held(app, client, factory):
    set_settings(app, hold_words="idiot")
    a = factory.article()
    cid = _own(client, app, a)
    assert _edit(client, cid, "What an idiot.").status_code == 200
    assert _row(app, cid).status == "pending"


@pytest.mark.parametrize("htmx", [False, True])
def test_an_edit_with_a_block_word_is_refused_and_nothing_changes(app, client, factory, htmx):
    set_settings(app, block_words="casino")
    a = factory.article()
    cid = _own(client, app, a)
    before = _article(app, a.id)
    r = _edit(client, cid, "Best CASINO deals here", headers={"HX-Request": "true"} if htmx else {})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Your comment could not be accepted." in html and 'class="field__error"' in html
    assert "Best CASINO deals here" in html  # the text stays in the form
    row = _row(app, cid)
    assert row.status == "approved" and row.body_source == "An honest first comment."
    assert _article(app, a.id).comment_count == before.comment_count == 1


def test_an_edit_from_a_banned_address_is_refused(app, client, factory):
    a = factory.article()
    cid = _own(client, app, a)
    set_settings(app, banned_ips="198.51.100.7")
    r = _edit(client, cid, "Changed words", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert r.status_code == 422 and _row(app, cid).body_source == "An honest first comment."


def test_an_approved_comment_edited_under_moderate_all_goes_back_to_the_queue(app, client, factory):
    set_settings(app, moderation="all")
    a = factory.article()
    cid = _own(client, app, a)
    with app.app_context():  # a moderator approves it
        from services.discussion import refresh_counts

        db.session.get(Comment, cid).status = "approved"
        refresh_counts(a.id)
        db.session.commit()
    r = _edit(client, cid, "Quite different words now.")
    assert r.status_code == 200 and "Your edit is awaiting moderation." in r.get_data(as_text=True)
    assert _row(app, cid).status == "pending"
    assert _article(app, a.id).comment_count == 0


def test_an_edit_never_releases_a_held_comment(app, client, factory):
    a = factory.article()
    cid = _own(client, app, a, body=f"Links {LINKS}")
    assert _row(app, cid).status == "pending"
    assert _edit(client, cid, "No links any more.").status_code == 200
    row = _row(app, cid)
    assert row.status == "pending" and row.body_source == "No links any more."
    assert _article(app, a.id).comment_count == 0


def test_a_clean_edit_stays_approved(app, client, htmx, factory):
    a = factory.article()
    cid = _own(client, app, a)
    r = _edit(client, cid, "Fixed a typo.", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Comment updated." in r.get_data(as_text=True)
    assert _row(app, cid).status == "approved"
    assert _article(app, a.id).comment_count == 1


def test_an_edit_that_repeats_an_earlier_comment_is_refused(app, client, factory):
    set_settings(app, flood_seconds=0)
    a = factory.article()
    _own(client, app, a, body="Great article!")
    cid = _own(client, app, a, body="Something else entirely.")
    r = _edit(client, cid, "great  article!")
    assert r.status_code == 409 and "already said that" in r.get_data(as_text=True)
    assert _row(app, cid).body_source == "Something else entirely."
    # Editing a comment into itself is not a repeat.
    assert _edit(client, cid, "Something else entirely. ").status_code == 303


def test_an_edit_is_judged_by_the_one_moderation_function(app, client, factory, monkeypatch):
    from services import moderation

    calls = []
    real = moderation.judge

    def spy(*args, **kw):
        calls.append(kw["body"])
        return real(*args, **kw)

    monkeypatch.setattr(moderation, "judge", spy)
    a = factory.article()
    cid = _own(client, app, a)
    _edit(client, cid, "Edited words.")
    assert calls == ["An honest first comment.", "Edited words."]
    with app.app_context():
        assert db.session.scalar(select(Comment.status).where(Comment.id == cid)) == "approved"
