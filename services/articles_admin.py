"""Writing and publishing articles, and keeping categories and tags.

``save`` validates everything first and changes nothing when any field is
wrong (it raises ``ArticleError`` with a message per field), so a bad form can
never leave half an article behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select

from extensions import db
from models import Article, ArticleStatus, Category, Tag, User, article_categories, article_tags, utcnow
from services import audit
from services.pagination import Page
from services.sanitize import excerpt as make_excerpt
from services.sanitize import render_markdown, strip_control
from services.slugs import slugify

log = logging.getLogger(__name__)

DRAFT, PUBLISHED, SCHEDULED = (s.value for s in ArticleStatus)
MAX_PING_URLS = 20
# A published time this far ahead is a typo for "scheduled", not a backdate.
FUTURE_SLACK = timedelta(minutes=2)


class ArticleError(Exception):
    """The form cannot be saved; ``errors`` maps field names to what to fix."""

    def __init__(self, errors: dict[str, str], status: int = 422):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.status = status


@dataclass
class ArticleInput:
    title: str = ""
    slug: str = ""
    excerpt: str = ""
    body_md: str = ""
    byline: str = ""
    status: str = DRAFT
    publish_at: datetime | None = None
    comments_open: bool = True
    pings_open: bool = True
    ping_urls: str = ""
    category_ids: list[int] = field(default_factory=list)
    new_categories: str = ""
    tags: str = ""
    lead_image: str | None = None  # a stored file name (new upload), or None to keep the current one
    remove_image: bool = False
    lead_image_caption: str = ""
    lead_image_alt: str = ""


@dataclass
class Saved:
    article: Article
    created: bool
    events: list[str]


# ---------------------------------------------------------------- listing


def listing(q: str = "", status: str = "", page: int = 1, per_page: int = 25) -> Page:
    """Articles for the dashboard, most recently changed first."""
    stmt = select(Article)
    if q:
        stmt = stmt.where(or_(Article.title.icontains(q, autoescape=True), Article.slug.icontains(q, autoescape=True)))
    if status in (DRAFT, PUBLISHED, SCHEDULED):
        stmt = stmt.where(Article.status == status)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(
        stmt.order_by(Article.updated_at.desc(), Article.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(list(items), page, per_page, total)


def status_counts() -> dict[str, int]:
    counts = dict.fromkeys((DRAFT, PUBLISHED, SCHEDULED), 0)
    counts.update(dict(db.session.execute(select(Article.status, func.count()).group_by(Article.status)).all()))
    return counts


def preview(markdown_source: str) -> str:
    """The article body as readers will see it (the same cleaner as on save)."""
    return render_markdown(markdown_source or "")


# ---------------------------------------------------------------- slugs and terms


def _slug_owner(slug: str, exclude_id: int | None) -> Article | None:
    stmt = select(Article).where(Article.slug == slug)
    if exclude_id is not None:
        stmt = stmt.where(Article.id != exclude_id)
    return db.session.scalar(stmt)


def unique_slug(base: str, exclude_id: int | None = None) -> str:
    """base, or base-2, base-3… whichever no other article uses."""
    base = base[:190].rstrip("-") or "untitled"
    candidate, n = base, 1
    while _slug_owner(candidate, exclude_id) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def split_names(text: str) -> list[str]:
    """'Harbour, regatta ,harbour' -> ['Harbour', 'regatta'] (case-insensitive de-duplication)."""
    seen: dict[str, str] = {}
    for raw in (text or "").replace("\n", ",").split(","):
        name = " ".join(strip_control(raw).split())
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return list(seen.values())


def find_or_create(model: type[Category] | type[Tag], name: str) -> Category | Tag:
    """The category or tag with this name (or slug), created on the fly when missing."""
    slug = slugify(name)
    found = db.session.scalar(
        select(model).where(or_(model.slug == slug, func.lower(model.name) == name.lower())).limit(1)
    )
    if found is not None:
        return found
    term = model(name=name[:80], slug=unique_term_slug(model, slug))
    db.session.add(term)
    db.session.flush()
    return term


def unique_term_slug(model, base: str, exclude_id: int | None = None) -> str:
    candidate, n = base[:76] or "term", 1
    while True:
        stmt = select(model.id).where(model.slug == candidate)
        if exclude_id is not None:
            stmt = stmt.where(model.id != exclude_id)
        if db.session.scalar(stmt) is None:
            return candidate
        n += 1
        candidate = f"{base[:76]}-{n}"


# ---------------------------------------------------------------- validation


def _check_urls(text: str) -> tuple[str, str | None]:
    lines = [strip_control(line).strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) > MAX_PING_URLS:
        return "", f"List at most {MAX_PING_URLS} Trackback URLs."
    for line in lines:
        parts = urlsplit(line)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(line) > 500:
            return "", f"“{line[:80]}” is not a web address. Use one http:// or https:// address per line."
    return "\n".join(dict.fromkeys(lines)), None


def _to_minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def _validate(article: Article | None, data: ArticleInput, now: datetime) -> tuple[dict[str, str], dict]:
    errors: dict[str, str] = {}
    clean: dict = {}
    title = " ".join(strip_control(data.title or "").split())
    if not title:
        errors["title"] = "Give the article a title."
    elif len(title) > 200:
        errors["title"] = "Keep the title under 200 characters."
    clean["title"] = title

    exclude = article.id if article is not None else None
    raw_slug = strip_control(data.slug or "").strip()
    if raw_slug:
        slug = slugify(raw_slug, max_length=190)
        owner = _slug_owner(slug, exclude)
        if owner is not None:
            errors["slug"] = f"The address “{slug}” is already used by “{owner.title}”. Choose another slug."
        clean["slug"] = slug
    elif title:
        clean["slug"] = unique_slug(slugify(title, max_length=190), exclude)

    if data.status not in (DRAFT, PUBLISHED, SCHEDULED):
        errors["status"] = "Choose Draft, Published or Scheduled."
    body = strip_control(data.body_md or "")
    if data.status in (PUBLISHED, SCHEDULED) and not body.strip():
        errors["body_md"] = "Write the article before publishing it."
    clean["body_md"] = body

    when = data.publish_at
    unchanged = (
        article is not None
        and article.published_at is not None
        and when is not None
        and _to_minute(article.published_at) == _to_minute(when)
    )
    if unchanged:
        # The form shows minutes only; an untouched time keeps its exact stored value.
        when = article.published_at
    if data.status == SCHEDULED:
        if when is None:
            errors["publish_at"] = "Choose when the article should appear."
        elif when <= now and not (unchanged and article.status == SCHEDULED):
            # (A scheduled article whose time has come may still be edited as it is.)
            errors["publish_at"] = "That time has passed. Choose a time in the future, or publish now."
    elif data.status == PUBLISHED:
        if when is not None and when > now + FUTURE_SLACK:
            errors["publish_at"] = "That time is in the future: choose Scheduled to publish it later."
        if when is None:
            was_published = article is not None and article.status == PUBLISHED and article.published_at
            when = article.published_at if was_published else now
    clean["published_at"] = when

    urls, problem = _check_urls(data.ping_urls)
    if problem:
        errors["ping_urls"] = problem
    clean["ping_urls"] = urls

    excerpt = " ".join(strip_control(data.excerpt or "").split())
    if len(excerpt) > 600:
        errors["excerpt"] = "Keep the standfirst under 600 characters."
    clean["excerpt"] = excerpt

    has_image = bool(data.lead_image) or (article is not None and article.lead_image and not data.remove_image)
    alt = " ".join(strip_control(data.lead_image_alt or "").split())
    if has_image and not alt:
        # Alt text is how a screen-reader user "sees" the photo; a news photo always has something to say.
        errors["lead_image_alt"] = "Describe the image for readers who cannot see it."
    if len(alt) > 300:
        errors["lead_image_alt"] = "Keep the description under 300 characters."
    clean["lead_image_alt"] = alt
    clean["lead_image_caption"] = strip_control(data.lead_image_caption or "").strip()[:1000]
    clean["byline"] = " ".join(strip_control(data.byline or "").split())[:120]

    new_cats = split_names(data.new_categories)
    tags = split_names(data.tags)
    if any(len(n) > 80 for n in new_cats + tags):
        errors["tags" if any(len(n) > 80 for n in tags) else "new_categories"] = "Keep each name under 80 characters."
    if len(tags) > 30:
        errors["tags"] = "Use at most 30 tags."
    clean["new_categories"], clean["tags"] = new_cats, tags
    return errors, clean


# ---------------------------------------------------------------- saving


def check(article: Article | None, data: ArticleInput) -> dict[str, str]:
    """What is wrong with this input (field -> message); empty when it can be saved."""
    errors, _ = _validate(article, data, utcnow())
    return errors


def save(article: Article | None, data: ArticleInput, user: User | None) -> Saved:
    """Create or update an article; raises ArticleError (changing nothing) when a field is wrong."""
    now = utcnow()
    errors, clean = _validate(article, data, now)
    if errors:
        raise ArticleError(errors)
    created = article is None
    before = None if created else article.status
    if created:
        article = Article(author_id=getattr(user, "id", None), created_at=now)
        db.session.add(article)
    old_image = article.lead_image

    article.title = clean["title"]
    article.slug = clean["slug"]
    article.byline = clean["byline"]
    article.body_md = clean["body_md"]
    article.body_html = render_markdown(clean["body_md"])
    article.excerpt = clean["excerpt"] or make_excerpt(article.body_html, 240)
    article.status = data.status
    article.published_at = clean["published_at"]
    article.comments_open = bool(data.comments_open)
    article.pings_open = bool(data.pings_open)
    article.ping_urls = clean["ping_urls"]
    article.lead_image_caption = clean["lead_image_caption"]
    article.lead_image_alt = clean["lead_image_alt"]
    if data.lead_image:
        article.lead_image = data.lead_image
    elif data.remove_image:
        article.lead_image = None
    article.updated_at = now

    cats = list(db.session.scalars(select(Category).where(Category.id.in_(data.category_ids or [-1]))))
    for name in clean["new_categories"]:
        term = find_or_create(Category, name)
        if term not in cats:
            cats.append(term)
    article.categories = cats
    article.tags = [find_or_create(Tag, name) for name in clean["tags"]]
    db.session.flush()

    events = ["article.create" if created else "article.update"]
    if data.status != before:
        if data.status == PUBLISHED:
            events.append("article.publish")
        elif data.status == SCHEDULED:
            events.append("article.schedule")
        elif before in (PUBLISHED, SCHEDULED):
            events.append("article.unpublish")
    for event in events:
        audit.record(
            event,
            "article",
            article.id,
            user=user,
            detail={"title": article.title, "slug": article.slug, "from": before, "to": article.status},
        )
    db.session.commit()
    if old_image and old_image != article.lead_image:
        log.info("article %s no longer uses %s", article.id, old_image)
    if article.status in (PUBLISHED, SCHEDULED):
        # The linkback service holds a scheduled article's pings until its time comes.
        notify_linked_sites(article.id)
    return Saved(article, created, events)


def notify_linked_sites(article_id: int) -> None:
    """Ask the linkback service to ping the pages a published article links to.

    Optional: the service may not be installed, and a failure to notify must
    never undo or block publishing.
    """
    try:
        from services.linkbacks import notify_article
    except ImportError:
        return
    try:
        notify_article(article_id)
    except Exception:  # noqa: BLE001 - publishing succeeded; pinging is best effort
        log.exception("could not queue outbound pings for article %s", article_id)


# ---------------------------------------------------------------- categories and tags


class TermError(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def term_usage(model) -> dict[int, int]:
    """How many articles use each category or tag."""
    table = article_categories if model is Category else article_tags
    column = table.c.category_id if model is Category else table.c.tag_id
    return dict(db.session.execute(select(column, func.count()).group_by(column)).all())


def save_term(model, term, *, name: str, slug: str = "", description: str = "", user: User | None = None):
    """Create (term=None) or rename a category or tag; names and slugs stay unique."""
    kind = "category" if model is Category else "tag"
    name = " ".join(strip_control(name or "").split())
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter a name."
    elif len(name) > 80:
        errors["name"] = "Keep the name under 80 characters."
    exclude = term.id if term is not None else None
    clash = db.session.scalar(
        select(model).where(func.lower(model.name) == name.lower(), model.id != (exclude or -1)).limit(1)
    )
    if name and clash is not None:
        errors["name"] = f"There is already a {kind} called “{clash.name}”."
    wanted = slugify(strip_control(slug or "").strip() or name)
    if slug.strip():
        taken = db.session.scalar(select(model.id).where(model.slug == wanted, model.id != (exclude or -1)))
        if taken is not None:
            errors["slug"] = f"The address “{wanted}” is already used by another {kind}."
    if errors:
        raise TermError(errors)
    created = term is None
    if created:
        term = model(name=name, slug=unique_term_slug(model, wanted))
        db.session.add(term)
    else:
        term.name = name
        term.slug = wanted if slug.strip() else term.slug
    if model is Category:
        term.description = strip_control(description or "").strip()[:1000]
    db.session.flush()
    audit.record(
        f"{kind}.{'create' if created else 'update'}",
        kind,
        term.id,
        user=user,
        detail={"name": name, "slug": term.slug},
    )
    db.session.commit()
    return term


def delete_term(model, term, user: User | None = None) -> None:
    """Delete a category or tag; its articles stay, just without it."""
    kind = "category" if model is Category else "tag"
    audit.record(f"{kind}.delete", kind, term.id, user=user, detail={"name": term.name, "slug": term.slug})
    db.session.delete(term)
    db.session.commit()
