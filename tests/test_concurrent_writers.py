"""Eight readers posting at once through gunicorn's worker processes lose nothing."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

from sqlalchemy import func, select

from extensions import db
from models import Article, Comment
from tests.comment_helpers import set_settings
from tests.gunicorn_server import Gunicorn

WRITERS = 8
EACH = 200


def _writer(base: str, slug: str, n: int, results: list) -> None:
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    for i in range(EACH):
        # A fresh form for each comment (a stamp posts one), as the browser has after the redirect.
        page = opener.open(f"{base}/article/{slug}", timeout=30).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        issued = re.search(r'name="issued" type="hidden" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {
                "csrf_token": token,
                "issued": issued,
                "name": f"Writer {n}",
                "body": f"comment {n}-{i}",
                "parent_id": "",
                "homepage": "",
            }
        ).encode()
        try:
            with opener.open(f"{base}/article/{slug}/comments", data=data, timeout=60) as r:
                results.append(r.status)
        except urllib.error.HTTPError as e:
            results.append(e.code)


def test_eight_concurrent_writers_lose_no_comment(make_app, database_url, factory):
    app = make_app()
    set_settings(app, flood_seconds=0)
    article = factory.article("Busy story")
    results: list[int] = []
    with Gunicorn(database_url, workers=4, RATELIMIT_ENABLED="false", COMMENT_MIN_SECONDS="0") as server:
        threads = [
            threading.Thread(target=_writer, args=(server.url, article.slug, n, results)) for n in range(WRITERS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    assert len(results) == WRITERS * EACH
    assert set(results) == {303}, {code: results.count(code) for code in set(results)}
    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(Comment).where(Comment.article_id == article.id))
        assert stored == WRITERS * EACH
        assert db.session.get(Article, article.id).comment_count == WRITERS * EACH
