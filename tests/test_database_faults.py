"""When the database goes away, readers get a clear 503, writers lose nothing, and the site recovers."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from extensions import db
from models import Comment
from tests.comment_helpers import form
from tests.factories import Factory
from tests.tcp_proxy import TcpProxy


def _comments(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


def test_postgresql_unreachable_then_back(make_app, database_url):
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL only (set TEST_DATABASE_URL)")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
    app = make_app(SQLALCHEMY_DATABASE_URI=proxied, COMMENT_MIN_SECONDS=0)
    article = Factory(app).article("Resilient story")
    client = app.test_client()
    assert client.get("/").status_code == 200
    try:
        proxy.stop()
        r = client.get("/")
        assert r.status_code == 503 and "Temporarily unavailable" in r.get_data(as_text=True)
        assert "Traceback" not in r.get_data(as_text=True) and r.headers["Retry-After"]
        assert client.get(f"/article/{article.slug}").status_code == 503
        assert client.get("/healthz").status_code == 200  # the process itself is alive
        assert client.get("/readyz").status_code == 503
        posted = client.post(f"/article/{article.slug}/comments", data=form(app, body="lost?"))
        assert posted.status_code == 503
    finally:
        proxy.start()  # the same port again: the database is back
    assert client.get("/").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert _comments(app) == 0
    assert client.post(f"/article/{article.slug}/comments", data=form(app, body="back")).status_code == 303


def _sqlite_path(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite only")
    return url.database


def test_sqlite_locked_by_another_writer(make_app, database_url, factory):
    path = _sqlite_path(database_url)
    app = make_app(SQLITE_BUSY_TIMEOUT_MS=300, COMMENT_MIN_SECONDS=0)
    article = Factory(app).article("Locked story")
    client = app.test_client()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert client.get(f"/article/{article.slug}").status_code == 200  # WAL: readers carry on
        r = client.post(f"/article/{article.slug}/comments", data=form(app), headers={"HX-Request": "true"})
        assert r.status_code == 503 and "<html" not in r.get_data(as_text=True)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _comments(app) == 0
    assert client.post(f"/article/{article.slug}/comments", data=form(app)).status_code == 303


def test_sqlite_read_only_file(make_app, database_url, factory):
    path = _sqlite_path(database_url)
    article = factory.article("Read-only story")
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///file:{path}?mode=ro&uri=true", COMMENT_MIN_SECONDS=0)
    client = app.test_client()
    assert client.get(f"/article/{article.slug}").status_code == 200
    r = client.post(f"/article/{article.slug}/comments", data=form(app))
    assert r.status_code == 503 and "Temporarily unavailable" in r.get_data(as_text=True)
    assert _comments(app) == 0
