"""Commenters' names: normalised, free of invisible and control characters, and isolated
on the page so a right-to-left override in one cannot reorder the site's own words."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Comment
from tests.comment_helpers import form, set_settings


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


@pytest.mark.parametrize(
    "name",
    [
        "admin\u202egnp.exe",  # right-to-left override
        "\u202e\u200b",  # nothing visible at all
        "x\r\nBcc: victim@example.org",  # a line break
        "Ann\u200bReader",  # zero-width space
        "Ann\u2028Reader",  # line separator
        "Ann\u2029Reader",  # paragraph separator
        "Ann\u2066Reader\u2069",  # isolates are formatting characters too
        "Ann\tReader",  # a tab
        "Ann\x1bReader",  # escape
        "\u00adAnn",  # soft hyphen
        "\u200dAnn",  # a joiner that joins nothing
        "Ann \u200c Reader",  # ...between spaces
    ],
)
def test_names_with_control_or_format_characters_are_refused_inline(app, client, htmx, factory, name):
    a = factory.article()
    r = htmx.post(f"/article/{a.slug}/comments", data=form(app, name=name))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="name-error"' in html and "invisible" in html
    assert r.headers["HX-Retarget"] == "#comment-form"
    r = client.post(f"/article/{a.slug}/comments", data=form(app, name=name))
    assert r.status_code == 422 and 'id="name-error"' in r.get_data(as_text=True)
    assert _count(app) == 0


@pytest.mark.parametrize("name", ["\u0645\u06cc\u200c\u0634\u0648\u062f", "Ann \U0001f469\u200d\U0001f4bb"])
def test_joiners_inside_a_name_are_part_of_its_spelling(app, client, factory, name):
    """Persian spells some words with a zero-width non-joiner; emoji sequences use joiners."""
    a = factory.article()
    r = client.post(f"/article/{a.slug}/comments", data=form(app, name=name))
    assert r.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Comment.author_name)) == name


@pytest.mark.parametrize("name", ["\u3164", "\u2800\u2800", "\u0301", " \u3000 \u00a0"])
def test_a_name_needs_a_visible_character(app, client, factory, name):
    a = factory.article()
    r = client.post(f"/article/{a.slug}/comments", data=form(app, name=name))
    assert r.status_code == 422
    assert re.search(r'id="name-error">(Please enter your name\.|[^<]*visible)', r.get_data(as_text=True))
    assert _count(app) == 0


def test_a_reply_form_refuses_them_too(app, client, factory):
    a = factory.article()
    top = factory.comment(a, "Top")
    r = client.post(f"/article/{a.slug}/comments", data=form(app, parent=top, name="evil\u202etxt.exe"))
    assert r.status_code == 422 and f'id="r{top.id}-name-error"' in r.get_data(as_text=True)
    assert _count(app) == 1


def test_names_are_stored_nfkc_normalised(app, client, factory):
    a = factory.article()
    # A full-width A and an "fi" ligature.
    r = client.post(f"/article/{a.slug}/comments", data=form(app, name="\uff21nn \ufb01sher"))
    assert r.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Comment.author_name)) == "Ann fisher"


def test_ordinary_names_in_any_script_are_accepted(app, client, factory):
    set_settings(app, flood_seconds=0)
    a = factory.article()
    for name in ["Zoë O'Brien", "محمد", "שרה", "李小龍", "Ngô Bảo Châu", "😀 Smiley"]:
        r = client.post(f"/article/{a.slug}/comments", data=form(app, name=name, body=f"Hello from {name}"))
        assert r.status_code == 303, (name, r.get_data(as_text=True))
        assert _count(app) >= 1


def test_the_service_refuses_such_names_whatever_the_caller(app, factory):
    from types import SimpleNamespace

    from services import discussion

    a = factory.article()
    with app.test_request_context():
        fields = form(app, name="admin\u202egnp.exe")
        fake = SimpleNamespace(**{k: SimpleNamespace(data=v) for k, v in fields.items()})
        with pytest.raises(discussion.CommentError) as err:
            discussion.post_comment(db.session.merge(a), fake, ip="127.0.0.1", user_agent="")
        assert err.value.field == "name"
    assert _count(app) == 0


def test_the_name_rules_in_one_place():
    from services.sanitize import name_problem, normalise_name

    assert normalise_name("\uff21nn") == "Ann"
    assert name_problem("Ann Reader") is None
    assert name_problem("admin\u202egnp.exe")
    assert name_problem("\u3164")


def test_names_shown_on_the_page_are_isolated(app, client, factory):
    """A stored name with an override (from before the rule, or typed by staff) cannot
    reorder "says:" or "Reply to" around it: each name sits in its own <bdi>."""
    a = factory.article()
    top = factory.comment(a, "Top words", name="gnp.exe\u202e")
    linked = factory.comment(a, "Linked", name="Web\u202eSite", author_url="https://site.example")
    page = client.get(f"/article/{a.slug}").get_data(as_text=True)
    assert f'<bdi class="comment__author" id="comment-author-{top.id}" data-user-content>gnp.exe\u202e</bdi>' in page
    assert (
        f'<bdi class="comment__author" id="comment-author-{linked.id}" data-user-content>'
        '<a href="https://site.example" rel="nofollow ugc">Web\u202eSite</a></bdi>'
    ) in page
    reply_page = client.get(f"/comments/{top.id}/reply").get_data(as_text=True)
    assert "<h1>Reply to <bdi data-user-content>gnp.exe\u202e</bdi></h1>" in reply_page
    # The window title cannot hold markup: Unicode isolates do the same there.
    assert "<title>Reply to \u2068gnp.exe\u202e\u2069 ·" in reply_page
    report_page = client.get(f"/comments/{top.id}/report").get_data(as_text=True)
    assert "<strong><bdi data-user-content>gnp.exe\u202e</bdi></strong> wrote:" in report_page


def test_the_htmx_answer_isolates_the_name_too(app, htmx, factory):
    a = factory.article()
    r = htmx.post(f"/article/{a.slug}/comments", data=form(app, name="Plain Name"))
    assert r.status_code == 201
    assert re.search(r'<bdi class="comment__author" id="comment-author-\d+" data-user-content>Plain Name</bdi>', r.text)
