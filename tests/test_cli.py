"""The command line: create-admin and seed-demo."""

from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Article, Comment, User


def test_create_admin_with_password(app, runner):
    result = runner.invoke(args=["create-admin", "ed", "--password", "s3cret-pass", "--role", "editor"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ed"))
        assert user.role == "editor" and user.check_password("s3cret-pass")
        assert user.password_hash != "s3cret-pass"


def test_create_admin_prompts_for_password(app, runner):
    result = runner.invoke(args=["create-admin", "root"], input="long-password\nlong-password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "root")).is_admin


def test_create_admin_refuses_short_password(app, runner):
    result = runner.invoke(args=["create-admin", "x", "--password", "short"])
    assert result.exit_code != 0 and "at least 8" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_is_idempotent_and_has_deep_threads(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        articles = db.session.scalar(select(func.count()).select_from(Article))
        comments = db.session.scalar(select(func.count()).select_from(Comment))
        deepest = db.session.scalar(select(func.max(Comment.depth)))
    assert articles >= 5 and comments >= 15 and deepest >= 3
    again = runner.invoke(args=["seed-demo"])
    assert "already present" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Article)) == articles
        assert db.session.scalar(select(func.count()).select_from(Comment)) == comments


def test_seed_demo_if_empty_leaves_a_real_site_alone(app, runner, factory):
    factory.article("A real story")
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "not added" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Article)) == 1


def test_demo_pages_render(seeded):
    client = seeded.test_client()
    html = client.get("/").get_data(as_text=True)
    with seeded.app_context():
        slugs = db.session.scalars(select(Article.slug)).all()
    for slug in slugs:
        assert client.get(f"/article/{slug}").status_code == 200
    assert "Harbour wall repairs" in html
