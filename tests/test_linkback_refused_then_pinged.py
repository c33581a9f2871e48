"""A refused linkback does not block a later real one from the same page.

A blog engine that sends a TrackBack before its post links to us (or a post edited
to add the link later) first gets "does not link" and its ping is kept as spam. The
Pingback it sends once the page links must be accepted, not answered "already
registered" (fault 0x0030), which WordPress records as done: the citation would be
lost for good. Approved and pending linkbacks are still duplicates.
"""

from __future__ import annotations

import xmlrpc.client

import pytest

from extensions import db
from models import Article, Comment
from services import audit
from tests.live import LiveServer
from tests.remote_site import RemoteSite, blog_page
from tests.test_trackback import answer, fields_for, linkbacks, send_trackback, set_discussion


@pytest.fixture
def live(app):
    app.config.update(ALLOW_PRIVATE_FETCH=True, LINKBACK_FETCH_TIMEOUT=2.0)
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def remote():
    with RemoteSite() as site:
        yield site


def pingback(live, source: str, target: str):
    try:
        return xmlrpc.client.ServerProxy(f"{live.url}/xmlrpc").pingback.ping(source, target)
    except xmlrpc.client.Fault as fault:
        return fault


def link_later(remote, path: str, target: str) -> str:
    """A post that does not link to ``target`` yet; ``link_later(...)`` again adds the link."""
    return remote.page(path, blog_page("Harbour notes", f"<p>As <a href='{target}'>the Gazette said</a>.</p>"))


def test_a_pingback_after_a_refused_trackback_is_registered(app, factory, live, remote):
    set_discussion(app, moderation="open")
    article = factory.article()
    target = live.article_url(article)
    source = remote.plain_page("/post")
    error, message = answer(send_trackback(live.trackback_url(article), fields_for(source))[2])
    assert error == "1" and "does not link" in message
    [refused] = linkbacks(app, article.id)
    assert refused.status == "spam"

    link_later(remote, "/post", target)  # the author adds the link and the blog pings again
    result = pingback(live, source, target)
    assert not isinstance(result, xmlrpc.client.Fault), result
    [row] = linkbacks(app, article.id)
    assert (row.id, row.kind, row.status) == (refused.id, "pingback", "approved")
    assert "the Gazette said" in row.body_source
    with app.app_context():
        assert db.session.get(Article, article.id).linkback_count == 1


def test_a_trackback_after_a_refused_one_is_accepted(app, factory, live, remote):
    set_discussion(app, moderation="open")
    article = factory.article()
    source = remote.plain_page("/post")
    assert answer(send_trackback(live.trackback_url(article), fields_for(source))[2])[0] == "1"
    link_later(remote, "/post", live.article_url(article))
    assert answer(send_trackback(live.trackback_url(article), fields_for(source))[2]) == ("0", None)
    [row] = linkbacks(app, article.id)
    assert (row.kind, row.status) == ("trackback", "approved")


def test_a_page_that_still_does_not_link_stays_refused(app, factory, live, remote):
    article = factory.article()
    target = live.article_url(article)
    source = remote.plain_page("/post")
    send_trackback(live.trackback_url(article), fields_for(source))
    result = pingback(live, source, target)
    assert isinstance(result, xmlrpc.client.Fault) and result.faultCode == 0x0011  # no link, not "registered"
    [row] = linkbacks(app, article.id)
    assert (row.kind, row.status) == ("trackback", "spam")


def test_a_moderators_refusal_sends_the_new_ping_to_review(app, factory, live, remote):
    set_discussion(app, moderation="open")
    article = factory.article()
    target = live.article_url(article)
    source = link_later(remote, "/post", target)
    assert answer(send_trackback(live.trackback_url(article), fields_for(source))[2]) == ("0", None)
    with app.app_context():
        row = db.session.scalar(db.select(Comment).where(Comment.article_id == article.id))
        row.status = "spam"
        audit.record("comment.spam", "comment", row.id, reason="spam")
        db.session.commit()
    assert not isinstance(pingback(live, source, target), xmlrpc.client.Fault)
    [row] = linkbacks(app, article.id)
    assert row.status == "pending"


@pytest.mark.parametrize("status", ["approved", "pending"])
def test_a_standing_linkback_is_still_a_duplicate(app, factory, live, remote, status):
    set_discussion(app, moderation="open" if status == "approved" else "all")
    article = factory.article()
    target = live.article_url(article)
    source = link_later(remote, "/post", target)
    assert answer(send_trackback(live.trackback_url(article), fields_for(source))[2]) == ("0", None)
    assert linkbacks(app, article.id)[0].status == status
    result = pingback(live, source, target)
    assert isinstance(result, xmlrpc.client.Fault) and result.faultCode == 0x0030
    assert len(linkbacks(app, article.id)) == 1
