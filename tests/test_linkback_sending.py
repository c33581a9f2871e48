"""Sending: when an article is published, the pages it cites are told — Webmention
first, then Pingback, then TrackBack — by the background worker, over real HTTP."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Article, Comment, Job, OutboundPing, utcnow
from services import jobs, linkbacks
from tests.live import LiveServer
from tests.remote_site import RemoteSite, blog_page


@pytest.fixture
def live(app):
    app.config.update(ALLOW_PRIVATE_FETCH=True)
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def remote():
    with RemoteSite() as site:
        yield site


def notify(app, live, article_id: int) -> None:
    """What the dashboard does after publishing (inside its request)."""
    with app.test_request_context("/admin/", base_url=live.url, method="POST"):
        linkbacks.notify_article(article_id)


def pings(app, article_id: int) -> dict[str, OutboundPing]:
    with app.app_context():
        found = db.session.scalars(
            select(OutboundPing).where(OutboundPing.article_id == article_id).order_by(OutboundPing.id)
        ).all()
        for p in found:
            db.session.expunge(p)
        return {p.target_url: p for p in found}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def rdf_block(page_url: str, ping_url: str) -> str:
    return f"""<!--
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dc="http://purl.org/dc/elements/1.1/"
         xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">
<rdf:Description rdf:about="{page_url}" dc:identifier="{page_url}" dc:title="A post"
    trackback:ping="{ping_url}" />
</rdf:RDF>
-->"""


@pytest.fixture
def cited(remote):
    """Four pages on the remote blog: one per protocol, and one with no endpoint at all."""
    r = remote
    remote.webmention_endpoint("/webmention")
    remote.pingback_endpoint("/xmlrpc.php")
    remote.trackback_endpoint("/tb/7")
    pages = {
        # Advertises Webmention *and* Pingback: Webmention wins.
        "webmention": r.page(
            "/wm-post",
            blog_page("WM", "<p>hi</p>"),
            headers={"Link": f'<{r.url}/webmention?token=abc>; rel="webmention"', "X-Pingback": f"{r.url}/xmlrpc.php"},
        ),
        "pingback": r.page("/pb-post", blog_page("PB", "<p>hi</p>"), headers={"X-Pingback": f"{r.url}/xmlrpc.php"}),
        "trackback": r.url + "/tb-post",
        "none": r.plain_page("/quiet-post"),
    }
    r.page("/tb-post", blog_page("TB", "<p>hi</p>" + rdf_block(pages["trackback"], f"{r.url}/tb/7")))
    return pages


def citing_article(factory, links: list[str], **kw):
    body = "A story that cites others.\n\n" + "\n\n".join(f"See [this post]({u})." for u in links)
    return factory.article(title="The regatta results", body_md=body, excerpt="Results of the regatta.", **kw)


def test_publishing_notifies_each_cited_page_by_the_best_protocol(app, factory, live, remote, cited):
    article = citing_article(factory, list(cited.values()))
    source = live.article_url(article)
    notify(app, live, article.id)
    assert count(app, Job) == 4 and remote.hits == []  # queued, not sent inside the request

    assert jobs.work_once(app) == 4

    [wm] = remote.posts_to("/webmention")
    assert wm.path == "/webmention?token=abc"  # the endpoint's query string is kept
    assert wm.form == {"source": source, "target": cited["webmention"]}
    [pb] = remote.posts_to("/xmlrpc.php")
    assert pb.call == ("pingback.ping", source, cited["pingback"])
    [tb] = remote.posts_to("/tb/7")
    assert tb.headers["content-type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert tb.form == {
        "title": "The regatta results",
        "url": source,
        "excerpt": "Results of the regatta.",
        "blog_name": app.config["SITE_NAME"],
    }

    sent = pings(app, article.id)
    assert {u: (p.protocol, p.status) for u, p in sent.items()} == {
        cited["webmention"]: ("webmention", "sent"),
        cited["pingback"]: ("pingback", "sent"),
        cited["trackback"]: ("trackback", "sent"),
        cited["none"]: ("", "no_endpoint"),
    }
    assert sent[cited["webmention"]].endpoint == f"{remote.url}/webmention?token=abc"
    assert "HTTP 202" in sent[cited["webmention"]].detail
    with app.app_context():
        assert {j.state for j in db.session.scalars(select(Job))} == {"done"}


def test_notifying_again_does_not_re_ping_what_was_sent(app, factory, live, remote, cited):
    article = citing_article(factory, list(cited.values()))
    notify(app, live, article.id)
    jobs.work_once(app)
    notify(app, live, article.id)
    jobs.work_once(app)
    assert len(remote.posts_to("/webmention")) == 1
    assert len(remote.posts_to("/xmlrpc.php")) == 1
    assert len(remote.posts_to("/tb/7")) == 1
    # Nor was the page without an endpoint: it is remembered for a day.
    with app.app_context():
        rows = db.session.scalars(select(OutboundPing.target_url).order_by(OutboundPing.id)).all()
    assert rows.count(cited["none"]) == 1 and rows.count(cited["webmention"]) == 1
    assert len([h for h in remote.hits if h.path == "/quiet-post"]) == 1


def test_a_page_without_an_endpoint_is_asked_again_after_a_day(app, factory, live, remote, cited):
    article = citing_article(factory, [cited["none"]])
    notify(app, live, article.id)
    jobs.work_once(app)
    assert pings(app, article.id)[cited["none"]].status == "no_endpoint"
    with app.app_context():
        ping = db.session.scalar(select(OutboundPing))
        ping.created_at = utcnow() - timedelta(hours=25)
        db.session.commit()
    notify(app, live, article.id)
    jobs.work_once(app)
    assert len([h for h in remote.hits if h.path == "/quiet-post"]) == 2


def test_a_missing_page_is_reported_as_404_not_as_without_endpoint(app, factory, live, remote):
    article = citing_article(factory, [remote.url + "/deleted-post"])
    notify(app, live, article.id)
    jobs.work_once(app)
    ping = pings(app, article.id)[remote.url + "/deleted-post"]
    assert ping.status == "failed"
    assert "HTTP 404" in ping.detail and "no Webmention" not in ping.detail


def test_trackback_title_and_excerpt_are_sent_as_html_text(app, factory, live, remote):
    """Receivers read them as HTML: markup-like text must arrive as typed."""
    endpoint = remote.trackback_endpoint("/wp-trackback/9")
    article = factory.article(
        title="fish & chips <for> everyone",
        body_md="Plain words.",
        excerpt="x<y comparisons & more",
        ping_urls=endpoint,
    )
    app.config["SITE_NAME"] = "Bits & <Bobs>"
    notify(app, live, article.id)
    jobs.work_once(app)
    [tb] = remote.posts_to("/wp-trackback/9")
    assert tb.form["title"] == "fish &amp; chips &lt;for&gt; everyone"
    assert tb.form["excerpt"] == "x&lt;y comparisons &amp; more"
    assert tb.form["blog_name"] == "Bits &amp; &lt;Bobs&gt;"
    assert tb.form["url"] == live.article_url(article)  # a URL, not HTML: sent as is


def test_an_update_with_a_new_link_pings_only_the_new_page(app, factory, live, remote, cited):
    article = citing_article(factory, [cited["webmention"]])
    notify(app, live, article.id)
    jobs.work_once(app)
    with app.app_context():
        a = db.session.get(Article, article.id)
        a.body_html += f'<p><a href="{cited["pingback"]}">new</a></p>'
        db.session.commit()
    notify(app, live, article.id)
    jobs.work_once(app)
    assert len(remote.posts_to("/webmention")) == 1 and len(remote.posts_to("/xmlrpc.php")) == 1


def test_editors_trackback_urls_are_pinged_directly(app, factory, live, remote):
    endpoint = remote.trackback_endpoint("/mt/tb.cgi/55")
    article = citing_article(factory, [], ping_urls=f"{endpoint}\nnot a url\n  \n{endpoint}\n")
    notify(app, live, article.id)
    jobs.work_once(app)
    [tb] = remote.posts_to("/mt/tb.cgi/55")
    assert tb.form["url"] == live.article_url(article)
    assert [h.method for h in remote.hits] == ["POST"]  # no discovery GET for an explicit URL
    assert pings(app, article.id)[endpoint].status == "sent"


def test_relative_endpoints_are_resolved_against_the_final_url(app, factory, live, remote):
    remote.page("/new/post", blog_page("Moved", '<p><a rel="nofollow webmention" href="endpoint?x=1">wm</a></p>'))
    remote.webmention_endpoint("/new/endpoint")
    moved = remote.redirect("/old/post", "/new/post", status=301)
    article = citing_article(factory, [moved])
    notify(app, live, article.id)
    jobs.work_once(app)
    [wm] = remote.posts_to("/new/endpoint")
    assert wm.path == "/new/endpoint?x=1" and wm.form["target"] == moved


def test_link_element_and_rel_lists_are_understood(app, factory, live, remote):
    remote.webmention_endpoint("/wm")
    page = remote.page(
        "/post",
        blog_page("P", "<p>x</p>", head="<link href='/wm' rel='webmention'>"),
        headers={"Link": f'<{remote.url}/other>; rel="preload", <{remote.url}/wm>; rel="webmention pingback"'},
    )
    article = citing_article(factory, [page])
    notify(app, live, article.id)
    jobs.work_once(app)
    assert len(remote.posts_to("/wm")) == 1


def test_already_registered_pingback_counts_as_sent(app, factory, live, remote):
    remote.pingback_endpoint("/xmlrpc.php", fault=48)
    page = remote.page("/p", blog_page("P", "<p>x</p>", head=f"<link rel='pingback' href='{remote.url}/xmlrpc.php'>"))
    article = citing_article(factory, [page])
    notify(app, live, article.id)
    jobs.work_once(app)
    assert pings(app, article.id)[page].status == "sent"


def test_a_refused_pingback_is_recorded_as_failed(app, factory, live, remote):
    remote.pingback_endpoint("/xmlrpc.php", fault=17)
    page = remote.page("/p", blog_page("P", "<p>x</p>"), headers={"X-Pingback": f"{remote.url}/xmlrpc.php"})
    article = citing_article(factory, [page])
    notify(app, live, article.id)
    jobs.work_once(app)
    ping = pings(app, article.id)[page]
    assert ping.status == "failed" and "fault 17" in ping.detail


def test_a_failing_endpoint_is_retried_later(app, factory, live, remote):
    remote.webmention_endpoint("/wm", status=503)
    page = remote.page("/p", blog_page("P", "<p>x</p>"), headers={"Link": f'<{remote.url}/wm>; rel="webmention"'})
    article = citing_article(factory, [page])
    notify(app, live, article.id)
    jobs.work_once(app)
    assert pings(app, article.id)[page].status == "retrying"
    with app.app_context():
        job = db.session.scalar(select(Job))
        assert job.state == "queued" and job.run_at > utcnow()
    # Still in flight: notifying again does not queue a second ping.
    notify(app, live, article.id)
    assert count(app, Job) == 1


def test_sending_never_reaches_private_addresses_unless_allowed(app, factory, live, remote, cited):
    app.config["ALLOW_PRIVATE_FETCH"] = False
    article = citing_article(factory, [cited["webmention"]])
    notify(app, live, article.id)
    jobs.work_once(app)
    ping = pings(app, article.id)[cited["webmention"]]
    assert ping.status == "failed" and "not public" in ping.detail
    assert remote.hits == []


def test_links_to_this_site_and_to_bare_home_pages_are_not_pinged(app, factory, live, remote, cited):
    other = factory.article(title="Another story")
    article = citing_article(factory, [live.article_url(other), remote.url + "/", "mailto:x@example.com", "/relative"])
    notify(app, live, article.id)
    assert count(app, OutboundPing) == 0 and count(app, Job) == 0


def test_drafts_are_not_announced_and_scheduled_articles_wait(app, factory, live, remote, cited):
    draft = citing_article(factory, [cited["webmention"]], status="draft", slug="draft-story")
    notify(app, live, draft.id)
    assert count(app, Job) == 0
    later = factory.article(
        title="Tomorrow",
        status="scheduled",
        published_at=utcnow() + timedelta(days=1),
        body_md=f"[x]({cited['webmention']})",
    )
    notify(app, live, later.id)
    assert count(app, Job) == 1
    assert jobs.work_once(app) == 0 and remote.hits == []


def test_notify_outside_a_request_needs_site_url(app, factory):
    article = factory.article(body_md="[x](https://blog.example/post)")
    with app.app_context(), pytest.raises(RuntimeError):
        linkbacks.notify_article(article.id)
    app.config["SITE_URL"] = "https://gazette.example"
    with app.app_context():
        linkbacks.notify_article(article.id)
        job = db.session.scalar(select(Job))
        assert '"base_url": "https://gazette.example"' in job.payload


def test_one_gazette_mentions_another_end_to_end(app, make_app, factory, live):
    """Our sender discovers and notifies our own receiver on another server, which verifies it."""
    other_app = make_app(ALLOW_PRIVATE_FETCH=True)
    cited_article = factory.article(title="The cited story")
    with LiveServer(other_app) as other:
        citing = citing_article(factory, [other.article_url(cited_article)])
        notify(app, live, citing.id)
        jobs.work_once(app)  # discovery + Webmention POST to the other server
        assert pings(app, citing.id)[other.article_url(cited_article)].protocol == "webmention"
        jobs.work_once(other_app)  # the other server verifies our page in the background
        with other_app.app_context():
            [mention] = db.session.scalars(select(Comment).where(Comment.article_id == cited_article.id)).all()
            assert (mention.kind, mention.status, mention.source_url) == (
                "webmention",
                "approved",
                live.article_url(citing),
            )
            assert mention.title.startswith("The regatta results")
        page = urllib.request.urlopen(other.article_url(cited_article)).read().decode()
        assert "1 Trackback" in page and "The regatta results" in page
