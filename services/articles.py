"""Queries for what readers see: listings, one article, its neighbours and relatives."""

from __future__ import annotations

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from extensions import db
from models import Article, Category, Tag, article_categories, article_tags, utcnow
from services.pagination import Page, check_in_range


def _listing(stmt, page: int, per_page: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    check_in_range(page, total, per_page)
    items = db.session.scalars(
        stmt.options(selectinload(Article.author), selectinload(Article.categories))
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(items), page, per_page, total)


def front_page(page: int, per_page: int) -> Page:
    return _listing(select(Article).where(Article.visible()), page, per_page)


def in_category(category: Category, page: int, per_page: int) -> Page:
    stmt = (
        select(Article)
        .join(article_categories, article_categories.c.article_id == Article.id)
        .where(article_categories.c.category_id == category.id, Article.visible())
    )
    return _listing(stmt, page, per_page)


def with_tag(tag: Tag, page: int, per_page: int) -> Page:
    stmt = (
        select(Article)
        .join(article_tags, article_tags.c.article_id == Article.id)
        .where(article_tags.c.tag_id == tag.id, Article.visible())
    )
    return _listing(stmt, page, per_page)


def get_visible(slug: str, full: bool = False) -> Article:
    """The published article with this slug, or 404 (drafts and future posts included).
    ``full`` also loads what the article page shows: author, categories, tags."""
    stmt = select(Article).where(Article.slug == slug, Article.visible())
    if full:
        stmt = stmt.options(selectinload(Article.author), selectinload(Article.categories), selectinload(Article.tags))
    article = db.session.scalar(stmt)
    if article is None:
        abort(404)
    return article


def neighbours(article: Article) -> tuple[Article | None, Article | None]:
    """The previous (older) and next (newer) published articles."""
    now = utcnow()
    older = db.session.scalar(
        select(Article)
        .where(Article.visible(now), Article.published_at < article.published_at)
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(1)
    )
    newer = db.session.scalar(
        select(Article)
        .where(Article.visible(now), Article.published_at > article.published_at)
        .order_by(Article.published_at.asc(), Article.id.asc())
        .limit(1)
    )
    return older, newer


def related(article: Article, limit: int = 3) -> list[Article]:
    """Published articles sharing the most tags with this one, newest first among equals."""
    tag_ids = [t.id for t in article.tags]
    if not tag_ids:
        return []
    shared = func.count(article_tags.c.tag_id).label("shared")
    stmt = (
        select(Article)
        .join(article_tags, article_tags.c.article_id == Article.id)
        .where(article_tags.c.tag_id.in_(tag_ids), Article.id != article.id, Article.visible())
        .group_by(Article.id)
        .order_by(shared.desc(), Article.published_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt).all())


def recent(limit: int) -> list[Article]:
    return list(
        db.session.scalars(
            select(Article)
            .options(selectinload(Article.author), selectinload(Article.categories))
            .where(Article.visible())
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(limit)
        ).all()
    )


def categories_in_use() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.name)).all())
