"""Model constraints hold in the database itself, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Article, Comment, User


def _commit_fails(app, obj_factory):
    with app.app_context():
        db.session.add(obj_factory())
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_slug_is_unique(app, factory):
    factory.article("Same title")
    _commit_fails(app, lambda: Article(title="Other", slug="same-title", status="draft"))


def test_article_status_is_checked(app):
    _commit_fails(app, lambda: Article(title="X", slug="x", status="bogus"))


def test_published_article_needs_a_date(app):
    _commit_fails(app, lambda: Article(title="X", slug="x", status="published", published_at=None))


def test_comment_status_and_kind_are_checked(app, factory):
    a = factory.article()
    _commit_fails(app, lambda: Comment(article_id=a.id, author_name="x", status="nope"))
    _commit_fails(app, lambda: Comment(article_id=a.id, author_name="x", kind="nope"))


def test_comment_needs_an_existing_article(app):
    _commit_fails(app, lambda: Comment(article_id=999_999, author_name="x"))


def test_username_is_unique(app, factory):
    factory.user("sam")
    _commit_fails(app, lambda: User(username="sam", password_hash="x"))


def test_deleting_an_article_deletes_its_comments(app, factory):
    a = factory.article()
    factory.comment(a)
    with app.app_context():
        db.session.delete(db.session.get(Article, a.id))
        db.session.commit()
        assert db.session.scalar(text("SELECT count(*) FROM comments")) == 0


def test_sqlite_runs_in_wal_with_foreign_keys(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    from config import load_secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(str(tmp_path))
    assert len(first) >= 32 and (tmp_path / "secret_key").exists()
    assert load_secret_key(str(tmp_path)) == first
