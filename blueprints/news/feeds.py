"""RSS 2.0 feeds (site, category, an article's comments), sitemap.xml and robots.txt."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from flask import current_app, make_response, render_template, url_for
from sqlalchemy import select

from blueprints.news import bp
from extensions import db
from models import Article, Category, Tag
from services import articles as article_queries
from services import discussion
from services.sanitize import excerpt, strip_tags
from services.templating import absolute_url, site_url

# Longest a comment summary gets in a feed.
COMMENT_SUMMARY = 500


@dataclass
class FeedItem:
    title: str  # plain text
    link: str
    guid: str
    date: datetime
    author: str
    summary: str  # HTML, as RSS descriptions are (so plain text arrives here escaped)
    html: str = ""
    permalink: bool = True
    categories: list[str] = field(default_factory=list)


def _rss(title: str, link: str, description: str, self_url: str, items: list[FeedItem]):
    body = render_template(
        "news/rss.xml", feed_title=title, feed_link=link, feed_description=description, self_url=self_url, items=items
    )
    response = make_response(body)
    response.headers["Content-Type"] = "application/rss+xml; charset=utf-8"
    return response


def _article_item(a: Article) -> FeedItem:
    link = absolute_url("news.article", slug=a.slug)
    return FeedItem(
        title=a.title,
        link=link,
        guid=link,
        date=a.published_at,
        author=a.author_name,
        summary=escape(a.excerpt or excerpt(a.body_html)),
        html=a.body_html,
        categories=[c.name for c in a.categories],
    )


@bp.get("/feed")
def site_feed():
    items = [_article_item(a) for a in article_queries.recent(current_app.config["FEED_ITEMS"])]
    name = current_app.config["SITE_NAME"]
    return _rss(name, site_url() + "/", current_app.config["SITE_TAGLINE"], absolute_url("news.site_feed"), items)


@bp.get("/category/<slug>/feed")
def category_feed(slug: str):
    cat = db.first_or_404(select(Category).where(Category.slug == slug))
    page = article_queries.in_category(cat, 1, current_app.config["FEED_ITEMS"])
    name = current_app.config["SITE_NAME"]
    return _rss(
        f"{cat.name} · {name}",
        absolute_url("news.category", slug=slug),
        cat.description or f"{cat.name} from {name}",
        absolute_url("news.category_feed", slug=slug),
        [_article_item(a) for a in page.items],
    )


@bp.get("/article/<slug>/feed")
def comments_feed(slug: str):
    """Approved comments and linkbacks of one article, newest first."""
    art = article_queries.get_visible(slug)
    link = absolute_url("news.article", slug=art.slug)
    items = []
    for c in discussion.feed_items(art, current_app.config["FEED_ITEMS"]):
        # Titles are plain text in RSS, but some readers render them as HTML.
        if c.is_linkback:
            title = strip_tags(f"{c.kind.capitalize()} from {c.author_name}: {c.title or c.source_url}")
        else:
            title = strip_tags(f"By: {c.author_name}")
        items.append(
            FeedItem(
                title=title,
                link=f"{link}#comment-{c.id}",
                guid=f"{link}#comment-{c.id}",
                date=c.created_at,
                author=c.author_name,
                summary=escape(excerpt(c.body_html, COMMENT_SUMMARY)),
                html=c.body_html,
            )
        )
    return _rss(
        f"Comments on: {art.title}",
        link,
        f"Comments on “{art.title}”",
        absolute_url("news.comments_feed", slug=slug),
        items,
    )


@bp.get("/sitemap.xml")
def sitemap():
    articles = db.session.scalars(
        select(Article).where(Article.visible()).order_by(Article.published_at.desc()).limit(50_000)
    ).all()
    body = render_template(
        "news/sitemap.xml",
        articles=articles,
        categories=db.session.scalars(select(Category).order_by(Category.slug)).all(),
        tags=db.session.scalars(select(Tag).order_by(Tag.slug)).all(),
    )
    response = make_response(body)
    response.headers["Content-Type"] = "application/xml; charset=utf-8"
    return response


@bp.get("/robots.txt")
def robots():
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /comments/",
        "Disallow: /article/*/comments",
        "",
        f"Sitemap: {site_url()}{url_for('news.sitemap')}",
        "",
    ]
    return "\n".join(lines), 200, {"Content-Type": "text/plain; charset=utf-8"}
