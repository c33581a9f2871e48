"""Duplicate detection compares comments the way a reader reads them, not byte for byte."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Comment
from tests.comment_helpers import form, set_settings


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


def _post(client, article, app, **fields):
    return client.post(f"/article/{article.slug}/comments", data=form(app, **fields))


@pytest.mark.parametrize(
    "again",
    [
        "Great  article!",  # two spaces
        "great article!\u200b",  # case and a zero-width space
        "\uff27\uff32\uff25\uff21\uff34 article!",  # full-width letters
        "  GREAT\narticle!\t",  # line breaks and tabs are whitespace too
        "Gre\u200dat\u2060 arti\ufeffcle!",  # joiners, word joiner, BOM
        "GREAT\u3000ARTICLE!",  # ideographic space
    ],
)
def test_a_near_repeat_is_refused_like_an_exact_one(app, client, factory, again):
    set_settings(app, flood_seconds=0)
    a = factory.article()
    assert _post(client, a, app, body="Great article!").status_code == 303
    r = _post(client, a, app, body=again)
    assert r.status_code == 409 and "already said that" in r.get_data(as_text=True)
    assert _count(app) == 1


def test_the_same_words_from_someone_else_or_elsewhere_are_fine(app, client, factory):
    set_settings(app, flood_seconds=0)
    a, b = factory.article(), factory.article("Another")
    assert _post(client, a, app, body="Great article!").status_code == 303
    assert _post(client, a, app, name="Bea Other", body="great  article!").status_code == 303
    assert _post(client, b, app, body="GREAT article!").status_code == 303
    assert _post(client, a, app, body="Great article, again!").status_code == 303
    assert _count(app) == 4


def test_a_trashed_comment_does_not_count(app, client, factory):
    set_settings(app, flood_seconds=0)
    a = factory.article()
    factory.comment(a, "Great article!", name="Ann Reader", status="trash")
    assert _post(client, a, app, body="great article!").status_code == 303


def test_an_old_exact_repeat_beyond_the_recent_window_is_still_refused(app, client, factory):
    from services import discussion

    set_settings(app, flood_seconds=0)
    a = factory.article()
    factory.comment(a, "The very first words.", name="Ann Reader", minutes_ago=500)
    for i in range(discussion.DUPLICATE_WINDOW):
        factory.comment(a, f"Chatter {i}", name="Ann Reader", minutes_ago=400 - i)
    assert _post(client, a, app, body="The very first words.").status_code == 409


def test_the_comparison_form():
    from services.sanitize import comparable_text

    assert comparable_text("Great  article!") == comparable_text("great article!\u200b") == "great article!"
    assert comparable_text("\uff27\uff32\uff25\uff21\uff34 article!") == "great article!"
    assert comparable_text("Straße") == comparable_text("STRASSE")
    assert comparable_text("a\u00a0b") == "a b"
