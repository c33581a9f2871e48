"""A worker killed with SIGKILL in the middle of writes loses no acknowledged comment."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from sqlalchemy import select
from sqlalchemy.engine import make_url

from extensions import db
from models import Comment
from tests.comment_helpers import set_settings
from tests.gunicorn_server import Gunicorn, child_pids


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def _poster(base: str, slug: str, n: int, stop: threading.Event, acked: list[str]) -> None:
    opener = urllib.request.build_opener(NoRedirect)
    i = 0
    while not stop.is_set():
        try:  # a fresh form for each comment (a stamp posts one), as the browser has after the redirect
            page = opener.open(f"{base}/article/{slug}", timeout=30).read().decode()
        except OSError:
            continue
        issued = re.search(r'name="issued" type="hidden" value="([^"]+)"', page).group(1)
        body = f"crash test {n}-{i}"
        data = urllib.parse.urlencode({"issued": issued, "name": f"P{n}", "body": body, "homepage": ""}).encode()
        try:
            with opener.open(f"{base}/article/{slug}/comments", data=data, timeout=30):
                pass
        except urllib.error.HTTPError as e:
            if e.code == 303:
                acked.append(body)
        except OSError:
            pass  # the connection died with the worker: not acknowledged
        i += 1


def test_sigkill_mid_write_keeps_every_acknowledged_comment(make_app, database_url, factory):
    app = make_app()
    set_settings(app, flood_seconds=0)
    article = factory.article("Crash story")
    acked: list[str] = []
    stop = threading.Event()
    config = {"RATELIMIT_ENABLED": "false", "COMMENT_MIN_SECONDS": "0", "WTF_CSRF_ENABLED": "false"}
    with Gunicorn(database_url, workers=2, **config) as server:
        threads = [threading.Thread(target=_poster, args=(server.url, article.slug, n, stop, acked)) for n in range(4)]
        for t in threads:
            t.start()
        # Let the writes get going (the pace depends on the machine), then strike.
        deadline = time.monotonic() + 30
        while len(acked) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(3):  # kill a worker three times while the posts pour in
            time.sleep(1.0)
            workers = child_pids(server.proc.pid)
            assert workers, "gunicorn has no workers"
            os.kill(workers[0], signal.SIGKILL)
        time.sleep(1.0)
        # And finally the whole server, master included, with no chance to clean up.
        for pid in [*child_pids(server.proc.pid), server.proc.pid]:
            os.kill(pid, signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(30)
    assert len(acked) >= 20, "the load did not get going"

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # After a restart, every acknowledged comment is there.
    with Gunicorn(database_url, workers=1, **config) as server:
        assert urllib.request.urlopen(server.url + "/readyz", timeout=10).status == 200
    with app.app_context():
        stored = set(db.session.scalars(select(Comment.body_source).where(Comment.article_id == article.id)))
    missing = [b for b in acked if b not in stored]
    assert not missing, f"{len(missing)} acknowledged comments lost"
