"""A citing page that answers slowly must not hold up anyone else's writes.

TrackBack and Pingback verify the citing page while the sender waits. The fetch
happens with no database transaction open, so a sender who points us at a page
that drips for seconds ties up one worker, and nothing else: readers go on posting
comments at full speed (three gunicorn workers on one SQLite file, real HTTP).
"""

from __future__ import annotations

import contextlib
import re
import statistics
import threading
import time
import urllib.parse
import xmlrpc.client

import pytest

from services import safe_fetch
from tests.comment_helpers import set_settings
from tests.gunicorn_server import Gunicorn
from tests.remote_site import RemoteSite, blog_page
from tests.test_scale_out import Browser

DRIP_SECONDS = 8.0


def _timed_comment(browser: Browser, base: str, slug: str, body: str) -> float:
    """Seconds the comment POST took (the form is fetched first, untimed)."""
    _, page = browser.get(f"{base}/article/{slug}")
    fields = {
        "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1),
        "issued": re.search(r'name="issued" type="hidden" value="([^"]+)"', page).group(1),
        "name": "Quick Reader",
        "body": body,
        "homepage": "",
    }
    started = time.perf_counter()
    status = browser.post(f"{base}/article/{slug}/comments", fields)
    elapsed = time.perf_counter() - started
    assert status == 303
    return elapsed


def test_a_dripping_citing_page_does_not_delay_a_comment(make_app, database_url, factory):
    if not database_url.startswith("sqlite"):
        pytest.skip("the site-wide write lock is SQLite's")
    app = make_app()
    set_settings(app, flood_seconds=0, verify_linkbacks=True)
    article = factory.article("Harbour wall repairs")
    with (
        RemoteSite() as remote,
        Gunicorn(
            database_url,
            workers=3,
            RATELIMIT_ENABLED="false",
            COMMENT_MIN_SECONDS="0",
            ALLOW_PRIVATE_FETCH="true",
        ) as server,
    ):
        target = f"{server.url}/article/{article.slug}"
        page = blog_page("Slow post", f"<p>As <a href='{target}'>the Gazette said</a>, it rained.</p>")
        tb_source = remote.drip("/slow-trackback", DRIP_SECONDS, page)
        pb_source = remote.drip("/slow-pingback", DRIP_SECONDS, page)
        reader = Browser()
        for i in range(6):  # each worker's first requests load templates: not what is measured
            _timed_comment(reader, server.url, article.slug, f"warm-up {i}")
        before = [_timed_comment(reader, server.url, article.slug, f"before {i}") for i in range(3)]

        def trackback() -> None:
            data = urllib.parse.urlencode({"url": tb_source, "title": "Slow"}).encode()
            with urllib.request.urlopen(f"{target}/trackback", data=data, timeout=30) as r:
                r.read()

        def pingback() -> None:
            proxy = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc")
            with contextlib.suppress(xmlrpc.client.Fault):  # it may time out: not what is measured
                proxy.pingback.ping(pb_source, target)

        pings = [threading.Thread(target=trackback), threading.Thread(target=pingback)]
        for t in pings:
            t.start()
        # Both citing pages are being read by the site before the reader posts.
        deadline = time.monotonic() + 10
        while len({h.path for h in remote.hits}) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert {h.path for h in remote.hits} == {"/slow-trackback", "/slow-pingback"}
        during = [_timed_comment(reader, server.url, article.slug, f"during {i}") for i in range(3)]
        still_dripping = any(t.is_alive() for t in pings)
        for t in pings:
            t.join(30)
    assert max(during) - statistics.median(before) < 0.1, (before, during)
    assert still_dripping, "the pings finished before the comments were timed"


def test_fetching_inside_a_transaction_is_refused(app, factory):
    """The rule is enforced where every outbound request passes, not by convention."""
    factory.article("Anything")
    with app.app_context():
        from extensions import db
        from models import Article

        db.session.scalar(db.select(Article).limit(1))  # a transaction is now open
        with pytest.raises(safe_fetch.TransactionOpen):
            safe_fetch.fetch("http://127.0.0.1:9/")
        db.session.rollback()
        with pytest.raises(safe_fetch.FetchError):  # no transaction: the fetch is tried
            safe_fetch.fetch("http://127.0.0.1:9/", allow_private=True)
