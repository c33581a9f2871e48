"""Webmention over real HTTP: POST source/target to a running Gazette, 202 at once,
verification in the background (the in-process worker or ``flask work``)."""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, update

from extensions import db
from models import Article, Comment, Job, utcnow
from services import jobs
from services import settings as site_settings
from tests.live import LiveServer
from tests.remote_site import RemoteSite


@pytest.fixture
def live(app):
    app.config.update(ALLOW_PRIVATE_FETCH=True, LINKBACK_FETCH_TIMEOUT=1.0)
    with LiveServer(app) as server:
        yield server
    assert jobs.wait_idle(app)


@pytest.fixture
def remote():
    with RemoteSite() as site:
        yield site


def send(endpoint: str, **form):
    """What a Webmention sender does: a form-encoded POST of source and target."""
    req = urllib.request.Request(endpoint, data=urlencode(form).encode(), method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def linkbacks(app, article_id: int) -> list[Comment]:
    with app.app_context():
        found = list(db.session.scalars(select(Comment).where(Comment.article_id == article_id).order_by(Comment.id)))
        for r in found:
            db.session.expunge(r)
        return found


def job_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Job))


def work(runner) -> str:
    result = runner.invoke(args=["work", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def page_of(url: str) -> str:
    return urllib.request.urlopen(url).read().decode()


# ---------------------------------------------------------------- discovery and the happy path


def test_article_page_advertises_the_webmention_endpoint(factory, live):
    article = factory.article()
    with urllib.request.urlopen(live.article_url(article)) as resp:
        assert resp.headers["Link"] == f'<{live.url}/webmention>; rel="webmention"'
        page = resp.read().decode()
    assert f'<link rel="webmention" href="{live.url}/webmention">' in page


def test_other_pages_do_not_advertise_endpoints(factory, live):
    factory.article()
    with urllib.request.urlopen(f"{live.url}/") as resp:
        assert "X-Pingback" not in resp.headers and "Link" not in resp.headers


def test_webmention_is_accepted_then_verified_in_the_background(app, factory, live, remote):
    app.config["JOBS_INLINE"] = True
    article = factory.article()
    target = live.article_url(article)
    source = remote.linking_page("/notes/1", target, title="Notes on the harbour", site_name="Tide Log")

    status, headers, body = send(f"{live.url}/webmention", source=source, target=target)
    assert status == 202
    status_url = headers["Location"]
    assert status_url.startswith(f"{live.url}/webmention/status/") and status_url in body

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not [c for c in linkbacks(app, article.id) if c.status == "approved"]:
        time.sleep(0.05)
    [lb] = linkbacks(app, article.id)
    assert (lb.kind, lb.status, lb.title, lb.author_name) == (
        "webmention",
        "approved",
        "Notes on the harbour",
        "Tide Log",
    )
    assert "reported this week" in lb.body_source

    assert "Notes on the harbour" in page_of(target)
    status_page = page_of(status_url)
    assert "Verified and published." in status_page and 'data-state="approved"' in status_page


def test_the_work_command_verifies_queued_webmentions(app, factory, live, remote, runner):
    article = factory.article()
    target = live.article_url(article)
    source = remote.linking_page("/p", target)
    assert send(f"{live.url}/webmention", source=source, target=target)[0] == 202
    assert linkbacks(app, article.id) == [] and remote.hits == []  # nothing happens synchronously
    assert "1 job(s) run." in work(runner)
    assert [c.status for c in linkbacks(app, article.id)] == ["approved"]
    with app.app_context():
        job = db.session.scalar(select(Job))
        assert (job.state, job.attempts) == ("done", 1) and job.result.startswith("approved")
        assert db.session.get(Article, article.id).linkback_count == 1


def test_a_repeated_webmention_updates_the_stored_one(app, factory, live, remote, runner):
    article = factory.article()
    target = live.article_url(article)
    source = remote.linking_page("/p", target, title="First title")
    send(f"{live.url}/webmention", source=source, target=target)
    work(runner)
    remote.linking_page("/p", target, title="Corrected title")
    send(f"{live.url}/webmention", source=source, target=target)
    work(runner)
    [lb] = linkbacks(app, article.id)
    assert (lb.title, lb.status) == ("Corrected title", "approved")


def test_a_source_that_is_gone_removes_the_mention(app, factory, live, remote, runner):
    article = factory.article()
    target = live.article_url(article)
    source = remote.linking_page("/p", target, title="Soon deleted")
    send(f"{live.url}/webmention", source=source, target=target)
    work(runner)
    assert "Soon deleted" in page_of(target)

    remote.gone("/p")
    status, headers, _ = send(f"{live.url}/webmention", source=source, target=target)
    assert status == 202
    work(runner)
    [lb] = linkbacks(app, article.id)
    assert lb.status == "trash"
    assert "Soon deleted" not in page_of(target)
    with app.app_context():
        assert db.session.get(Article, article.id).linkback_count == 0
    assert "Removed." in page_of(headers["Location"])


def test_a_source_that_no_longer_links_removes_the_mention(app, factory, live, remote, runner):
    article = factory.article()
    target = live.article_url(article)
    source = remote.linking_page("/p", target)
    send(f"{live.url}/webmention", source=source, target=target)
    work(runner)
    remote.plain_page("/p")
    send(f"{live.url}/webmention", source=source, target=target)
    work(runner)
    assert [c.status for c in linkbacks(app, article.id)] == ["trash"]


def test_a_removed_mention_that_links_again_waits_for_a_moderator(app, factory, live, remote, runner):
    article = factory.article()
    target = live.article_url(article)
    source = remote.plain_page("/p")
    send(f"{live.url}/webmention", source=source, target=target)
    work(runner)
    assert [c.status for c in linkbacks(app, article.id)] == ["spam"]
    remote.linking_page("/p", target)
    send(f"{live.url}/webmention", source=source, target=target)
    work(runner)
    assert [c.status for c in linkbacks(app, article.id)] == ["pending"]


def test_a_first_webmention_without_a_link_is_stored_as_spam(app, factory, live, remote, runner):
    article = factory.article()
    source = remote.plain_page("/unrelated")
    _, headers, _ = send(f"{live.url}/webmention", source=source, target=live.article_url(article))
    work(runner)
    assert [c.status for c in linkbacks(app, article.id)] == ["spam"]
    assert "Rejected: the source does not link to the target." in page_of(headers["Location"])


def test_json_and_plain_text_sources_are_matched_exactly(app, factory, live, remote, runner):
    article = factory.article()
    target = live.article_url(article)
    js = remote.page("/note.json", f'{{"type": "entry", "in-reply-to": ["{target}"]}}', content_type="application/json")
    txt = remote.page("/note.txt", f"See {target} for details.", content_type="text/plain")
    send(f"{live.url}/webmention", source=js, target=target)
    send(f"{live.url}/webmention", source=txt, target=target)
    work(runner)
    assert [c.status for c in linkbacks(app, article.id)] == ["approved", "approved"]


def test_moderation_all_holds_verified_webmentions(app, factory, live, remote, runner):
    with app.app_context():
        s = site_settings.load()
        s.moderation = "all"
        site_settings.save(s)
        db.session.commit()
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    _, headers, _ = send(f"{live.url}/webmention", source=source, target=live.article_url(article))
    work(runner)
    assert [c.status for c in linkbacks(app, article.id)] == ["pending"]
    assert "awaiting moderation" in page_of(headers["Location"])


# ---------------------------------------------------------------- bad requests: 400 with a reason


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({}, "required"),
        ({"source": "https://blog.example/p"}, "required"),
        ({"target": "TARGET"}, "required"),
        ({"source": "mailto:someone@example.com", "target": "TARGET"}, "http"),
        ({"source": "ftp://blog.example/p", "target": "TARGET"}, "http"),
        ({"source": "not a url", "target": "TARGET"}, "http"),
        ({"source": "https://blog.example/p", "target": "javascript:alert(1)"}, "http"),
        ({"source": "https://blog.example/p", "target": "https://elsewhere.example/article/x"}, "not on this site"),
        ({"source": "https://blog.example/p", "target": "LIVE/article/no-such-story"}, "does not exist"),
        ({"source": "https://blog.example/p", "target": "LIVE/"}, "not an article"),
        ({"source": "TARGET", "target": "TARGET"}, "different"),
        ({"source": "TARGET#a", "target": "TARGET#b"}, "different"),
        ({"source": "https://blog.example/" + "x" * 600, "target": "TARGET"}, "longer"),
    ],
)
def test_bad_webmentions_are_400_with_a_reason(app, factory, live, form, reason):
    article = factory.article()
    target = live.article_url(article)
    form = {k: v.replace("TARGET", target).replace("LIVE", live.url) for k, v in form.items()}
    status, headers, body = send(f"{live.url}/webmention", **form)
    assert status == 400
    assert headers["Content-Type"].startswith("text/plain")
    assert reason in body
    assert job_count(app) == 0


def test_webmention_to_an_unpublished_article_is_400(app, factory, live):
    article = factory.article(status="draft")
    status, _, body = send(f"{live.url}/webmention", source="https://blog.example/p", target=live.article_url(article))
    assert status == 400 and job_count(app) == 0


def test_webmention_when_pings_are_closed_is_400(app, factory, live):
    article = factory.article(pings_open=False)
    status, _, body = send(f"{live.url}/webmention", source="https://blog.example/p", target=live.article_url(article))
    assert status == 400 and "closed" in body and job_count(app) == 0


def test_webmention_from_a_private_address_is_refused_when_not_allowed(app, factory, live, remote):
    app.config["ALLOW_PRIVATE_FETCH"] = False
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    status, _, body = send(f"{live.url}/webmention", source=source, target=live.article_url(article))
    assert status == 400 and "address" in body
    assert job_count(app) == 0 and remote.hits == []


def test_a_private_name_is_refused_when_the_job_runs(app, factory, live, runner, monkeypatch):
    """A host name is only resolved by the worker; an internal answer is refused there."""
    import socket

    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1" if host == "intranet.example" else host, *a, **k)
    )
    app.config["ALLOW_PRIVATE_FETCH"] = False
    article = factory.article()
    _, headers, _ = send(f"{live.url}/webmention", source="http://intranet.example/p", target=live.article_url(article))
    work(runner)
    assert linkbacks(app, article.id) == []
    with app.app_context():
        assert db.session.scalar(select(Job.result)).startswith("rejected")


def test_get_on_the_endpoint_is_405_plain_text(live):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{live.url}/webmention")
    assert info.value.code == 405 and info.value.headers["Content-Type"].startswith("text/plain")


def test_an_oversized_webmention_is_413_plain_text(app, factory, live):
    article = factory.article()
    status, headers, _ = send(
        f"{live.url}/webmention", source="https://blog.example/p", target=live.article_url(article), pad="x" * 1_100_000
    )
    assert status == 413 and headers["Content-Type"].startswith("text/plain")
    assert job_count(app) == 0


def test_webmentions_from_one_host_are_rate_limited(make_app, factory):
    app = make_app(RATELIMIT_ENABLED=True, LINKBACK_SOURCE_LIMIT="2 per hour")
    article = factory.article()
    with LiveServer(app) as live:
        codes = [
            send(f"{live.url}/webmention", source=f"https://spam.example/{n}", target=live.article_url(article))
            for n in range(3)
        ]
    assert [c[0] for c in codes] == [202, 202, 429]
    assert codes[2][1]["Retry-After"] and "Too many" in codes[2][2]
    assert job_count(app) == 2


def test_a_forged_status_url_is_404(live):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{live.url}/webmention/status/1.forged")
    assert info.value.code == 404


# ---------------------------------------------------------------- slow, huge, retried


def test_a_source_that_times_out_is_retried_later_then_given_up(app, factory, live, remote, runner):
    article = factory.article()
    source = remote.slow("/slow", 5)
    _, headers, _ = send(f"{live.url}/webmention", source=source, target=live.article_url(article))
    started = time.monotonic()
    work(runner)
    assert time.monotonic() - started < 3
    with app.app_context():
        job = db.session.scalar(select(Job))
        assert (job.state, job.attempts) == ("queued", 1)
        assert job.run_at > utcnow() + timedelta(seconds=20)
        assert "too long" in job.result
    assert "tried again" in page_of(headers["Location"])
    # Not due yet: the worker leaves it alone.
    assert "0 job(s) run." in work(runner)

    with app.app_context():
        db.session.execute(update(Job).values(run_at=utcnow(), attempts=jobs.MAX_ATTEMPTS - 1))
        db.session.commit()
    work(runner)
    with app.app_context():
        job = db.session.scalar(select(Job))
        assert (job.state, job.attempts) == ("failed", jobs.MAX_ATTEMPTS)
    assert linkbacks(app, article.id) == []
    assert "could not be fetched" in page_of(headers["Location"])


def test_a_huge_source_is_read_only_up_to_the_cap(app, factory, live, remote, runner):
    app.config["LINKBACK_FETCH_MAX_BYTES"] = 256 * 1024
    article = factory.article()
    link = f'<a href="{live.article_url(article)}">cited</a>'
    early = remote.huge("/early", 8 * 1024 * 1024, head=link)
    late = remote.huge("/late", 8 * 1024 * 1024, tail=link)
    send(f"{live.url}/webmention", source=early, target=live.article_url(article))
    send(f"{live.url}/webmention", source=late, target=live.article_url(article))
    started = time.monotonic()
    work(runner)
    assert time.monotonic() - started < 5
    assert [c.status for c in linkbacks(app, article.id)] == ["approved", "spam"]


def test_remote_markup_in_a_mention_is_shown_as_text(app, factory, live, remote, runner):
    article = factory.article()
    target = live.article_url(article)
    remote.page(
        "/x",
        "<html><head><title>&lt;script&gt;alert(1)&lt;/script&gt;</title></head><body>"
        f"<p><img src=x onerror=alert(2)><a href='{target}'>us</a> and &lt;b&gt;more&lt;/b&gt;</p></body></html>",
    )
    send(f"{live.url}/webmention", source=f"{remote.url}/x", target=target)
    work(runner)
    page = page_of(target)
    item = re.search(r'<li id="comment-\d+" class="linkback linkback--webmention">.*?</li>', page, re.S).group(0)
    assert "<script>" not in item and "onerror" not in item and "<b>" not in item
    # Tag-like text in the title is dropped; what is left is escaped text.
    assert 'rel="nofollow ugc" data-user-content>alert(1)</a>' in item


# ---------------------------------------------------------------- the job queue itself


def test_concurrent_workers_never_claim_the_same_job(app):
    with app.app_context():
        for n in range(40):
            jobs.enqueue("test.noop", {"n": n})
        db.session.commit()
    claimed: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            with app.app_context():
                while (job_id := jobs.claim()) is not None:
                    claimed.append(job_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(claimed) == 40 and len(set(claimed)) == 40


def test_a_job_whose_worker_died_is_run_again(app):
    with app.app_context():
        job = jobs.enqueue("test.noop", {})
        db.session.commit()
        job_id = job.id
        assert jobs.claim() == job_id
        assert jobs.claim() is None
        db.session.execute(update(Job).values(updated_at=utcnow() - jobs.LEASE - timedelta(minutes=1)))
        db.session.commit()
        assert jobs.requeue_stale() == 1
        assert jobs.claim() == job_id


def test_an_unknown_job_kind_fails_without_retrying(app):
    with app.app_context():
        jobs.enqueue("no.such.kind", {})
        db.session.commit()
    assert jobs.work_once(app) == 1
    with app.app_context():
        job = db.session.scalar(select(Job))
        assert job.state == "failed" and "unknown" in job.result


def test_a_crashing_handler_is_retried_with_backoff(app, monkeypatch):
    def boom(payload, attempt):
        raise RuntimeError("bug")

    monkeypatch.setitem(jobs._handlers, "test.boom", boom)
    with app.app_context():
        jobs.enqueue("test.boom", {})
        db.session.commit()
    jobs.work_once(app)
    with app.app_context():
        job = db.session.scalar(select(Job))
        assert (job.state, job.attempts) == ("queued", 1) and "RuntimeError" in job.result
        assert job.run_at >= utcnow() + jobs.backoff(1) - timedelta(seconds=5)
