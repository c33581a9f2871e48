from __future__ import annotations

from flask import current_app, render_template, send_from_directory
from sqlalchemy import select, text

from blueprints.news import bp
from extensions import db
from models import Category, Tag
from services import articles as article_queries
from services import discussion, page_cache
from services import settings as site_settings
from services.pagination import page_arg


def _per_page() -> int:
    return current_app.config["ARTICLES_PER_PAGE"]


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers; touches no database."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers."""
    db.session.execute(text("SELECT 1"))
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


def _listing_key(slug: str | None = None) -> tuple:
    return (page_cache.site_version(),)


def _article_key(slug: str) -> tuple:
    return page_cache.article_version(slug)


@bp.get("/")
@page_cache.cached_page(_listing_key)
def front():
    page = article_queries.front_page(page_arg(), _per_page())
    return render_template("news/front.html", page=page)


@bp.get("/category/<slug>")
@page_cache.cached_page(_listing_key)
def category(slug: str):
    cat = db.first_or_404(select(Category).where(Category.slug == slug))
    page = article_queries.in_category(cat, page_arg(), _per_page())
    return render_template(
        "news/listing.html", page=page, heading=cat.name, kind="category", description=cat.description, category=cat
    )


@bp.get("/tag/<slug>")
@page_cache.cached_page(_listing_key)
def tag(slug: str):
    t = db.first_or_404(select(Tag).where(Tag.slug == slug))
    page = article_queries.with_tag(t, page_arg(), _per_page())
    return render_template("news/listing.html", page=page, heading=t.name, kind="tag", tag=t)


def article_context(article, form=None, cpage: int = 1, full: bool = True, **extra) -> dict:
    """Everything the article page (or, with full=False, its discussion alone) needs."""
    s = site_settings.load()
    ctx = {
        "article": article,
        "thread": discussion.thread_page(article, cpage),
        "form": form or discussion.new_form(article),
        "max_depth": s.max_depth,
        "closed": discussion.comments_closed(article),
        "parent": None,
        "newest_id": discussion.newest_id(article),
    }
    if full:
        older, newer = article_queries.neighbours(article)
        ctx.update(
            older=older,
            newer=newer,
            related=article_queries.related(article),
            linkbacks=discussion.linkbacks_for(article),
        )
    ctx.update(extra)
    return ctx


@bp.get("/article/<slug>")
@page_cache.cached_page(_article_key)
def article(slug: str):
    art = article_queries.get_visible(slug, full=True)
    return render_template("news/article.html", **article_context(art, cpage=page_arg("cpage")))


@bp.get("/uploads/<path:filename>")
def upload(filename: str):
    """Images uploaded by editors (and the demo's), served from instance/uploads."""
    response = send_from_directory(current_app.config["UPLOAD_DIR"], filename, max_age=86400 * 30)
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


def _nav_categories() -> list:
    """Section links for the masthead; an error page still renders when the database is down."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return article_queries.categories_in_use()
    except SQLAlchemyError:
        db.session.rollback()
        return []


@bp.app_context_processor
def _navigation() -> dict:
    # Callables: only full pages (base.html) pay for them, fragments don't.
    from models import utcnow

    return {"nav_categories": _nav_categories, "today": utcnow}
