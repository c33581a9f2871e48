"""Fixtures: a migrated database per session, a clean one per test, an app, clients.

The database is a real SQLite file by default; set TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test) to run everything on PostgreSQL.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from config import TestConfig
from extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def _config_dict(**overrides) -> dict:
    base = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    base.update(overrides)
    return base


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A database migrated with `flask db upgrade` (Alembic), once per session."""
    if TEST_DATABASE_URL:
        url = TEST_DATABASE_URL
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'gazette-test.db'}"
    app = create_app(_config_dict(SQLALCHEMY_DATABASE_URI=url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def _wipe(app) -> None:
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(sa.text(f"DELETE FROM {name}"))  # noqa: S608 - table names from metadata
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on the test database; the database is wiped after the test."""
    made = []

    def factory(**overrides):
        cfg = _config_dict(SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_DIR=str(tmp_path / "uploads"))
        cfg.update(overrides)
        app = create_app(cfg)
        made.append(app)
        return app

    yield factory
    if made:
        _wipe(made[0])


@pytest.fixture
def app(make_app):
    # Tests post forms at once; the 3-second rule has its own tests.
    return make_app(COMMENT_MIN_SECONDS=0)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def htmx(app):
    """A client that sends the headers htmx sends."""

    class HtmxClient:
        def __init__(self, inner):
            self.inner = inner

        def _headers(self, extra):
            headers = {"HX-Request": "true"}
            headers.update(extra or {})
            return headers

        def get(self, url, headers=None, **kw):
            return self.inner.get(url, headers=self._headers(headers), **kw)

        def post(self, url, headers=None, **kw):
            return self.inner.post(url, headers=self._headers(headers), **kw)

    return HtmxClient(app.test_client())


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded(app):
    """The demo content."""
    from services import demo

    with app.app_context():
        demo.seed(app)
    return app


@pytest.fixture
def factory(app):
    """Helpers that create rows directly, for tests that need exact data."""
    from tests import factories

    return factories.Factory(app)


@pytest.fixture
def wait():
    def _wait(predicate, timeout=5.0, interval=0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return False

    return _wait


def pytest_report_header(config):
    return f"database: {TEST_DATABASE_URL or 'SQLite file (set TEST_DATABASE_URL for PostgreSQL)'}"


ROOT = Path(__file__).resolve().parent.parent
