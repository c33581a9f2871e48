"""Sixteen clients post comments and trackbacks for 30 seconds through gunicorn's four workers:
every acknowledged write is stored, nothing answers 500, and the counts match."""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Comment
from tests.comment_helpers import set_settings
from tests.gunicorn_server import Gunicorn

CLIENTS = 16
SECONDS = 30


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def _commenter(base, slug, n, deadline, log):
    opener = urllib.request.build_opener(NoRedirect)
    i = 0
    while time.monotonic() < deadline:
        # A fresh form for each comment (a stamp posts one), as the browser has after the redirect.
        page = opener.open(f"{base}/article/{slug}", timeout=30).read().decode()
        issued = re.search(r'name="issued" type="hidden" value="([^"]+)"', page).group(1)
        body = f"load comment {n}-{i}"
        data = urllib.parse.urlencode({"issued": issued, "name": f"C{n}", "body": body, "homepage": ""}).encode()
        try:
            opener.open(f"{base}/article/{slug}/comments", data=data, timeout=30)
            log.append(("comment", body, 200))
        except urllib.error.HTTPError as e:
            log.append(("comment", body, e.code))
        i += 1


def _pinger(base, slug, n, deadline, log):
    i = 0
    while time.monotonic() < deadline:
        source = f"https://blog{n}.example/post-{i}"
        data = urllib.parse.urlencode(
            {"url": source, "title": f"Post {i}", "excerpt": "We cite you.", "blog_name": f"Blog {n}"}
        ).encode()
        req = urllib.request.Request(
            f"{base}/article/{slug}/trackback",
            data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                ok = b"<error>0</error>" in r.read()
                log.append(("trackback", source, 200 if ok else 400))
        except urllib.error.HTTPError as e:
            log.append(("trackback", source, e.code))
        i += 1


@pytest.mark.slow
def test_sixteen_clients_for_thirty_seconds(make_app, database_url, factory):
    app = make_app()
    set_settings(app, flood_seconds=0, verify_linkbacks=False)
    article = factory.article("Viral story")
    log: list[tuple[str, str, int]] = []
    config = {"RATELIMIT_ENABLED": "false", "COMMENT_MIN_SECONDS": "0", "WTF_CSRF_ENABLED": "false"}
    with Gunicorn(database_url, workers=4, **config) as server:
        deadline = time.monotonic() + SECONDS
        threads = [
            threading.Thread(
                target=_commenter if n % 2 == 0 else _pinger, args=(server.url, article.slug, n, deadline, log)
            )
            for n in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 60)
    codes = {code for _, _, code in log}
    assert 500 not in codes and 503 not in codes, {c: sum(1 for *_, x in log if x == c) for c in codes}
    comments = {body for kind, body, code in log if kind == "comment" and code == 303}
    pings = {src for kind, src, code in log if kind == "trackback" and code == 200}
    assert len(comments) > 100 and len(pings) > 100, (len(comments), len(pings))
    with app.app_context():
        stored_comments = set(
            db.session.scalars(
                select(Comment.body_source).where(Comment.article_id == article.id, Comment.kind == "comment")
            )
        )
        stored_pings = set(
            db.session.scalars(
                select(Comment.source_url).where(Comment.article_id == article.id, Comment.kind == "trackback")
            )
        )
        total = db.session.scalar(select(func.count()).select_from(Comment).where(Comment.article_id == article.id))
    assert stored_comments == comments
    assert stored_pings == pings
    assert total == len(comments) + len(pings)
