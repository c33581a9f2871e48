"""Rendered reader pages, cached under keys made of what they show.

A key is built from cheap queries that change whenever the page would
(an article's ``cache_version`` and ``updated_at``, the site's published set,
the discussion settings) plus a one-minute bucket that bounds the staleness of
relative times ("5 minutes ago") and of anything a key does not cover (a renamed
category). Because the key itself changes, no process ever has to be told to
invalidate anything: a per-process cache and a shared Redis cache are equally
correct, and two instances behind one database always agree.

Per-visitor parts stay out of the cache. A page is stored with the visitor's
CSRF token and form stamp replaced by placeholders and served with fresh ones;
visitors who see something of their own (their pending comment, edit links,
remembered name) or are signed in get a freshly rendered page.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache, wraps

from flask import Flask, abort, current_app, g, make_response, request, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import bindparam, func, select

from extensions import db
from models import Article, Setting, utcnow
from services import settings as site_settings

log = logging.getLogger(__name__)

CSRF_MARK = "__gz_csrf_token__"
STAMP_MARK = "__gz_form_stamp__"
# Relative times on a cached page are at most this stale.
BUCKET_SECONDS = 60
# Pages are small (tens of KB); this bounds a worker's memory, far below its 150 MB budget.
MEMORY_BUDGET = 48 * 1024 * 1024
REDIS_TTL = 5 * BUCKET_SECONDS
# Cookies that make a page personal (services.discussion).
PERSONAL_COOKIES = ("gz_own", "gz_commenter")
_MARKS = re.compile(f"({CSRF_MARK}|{STAMP_MARK})")


Pieces = list  # bytes of the page, with the marker strings where per-visitor values go


def compile_template(template: str) -> Pieces:
    """Split a stored page at its markers, once, so serving it is one join of bytes."""
    return [part if part in (CSRF_MARK, STAMP_MARK) else part.encode() for part in _MARKS.split(template)]


class MemoryStore:
    """A size-bounded LRU dict of compiled pages, one per process."""

    def __init__(self, budget: int = MEMORY_BUDGET):
        self.budget = budget
        self.used = 0
        self.items: OrderedDict[str, Pieces] = OrderedDict()
        self.sizes: dict[str, int] = {}
        self.lock = threading.Lock()

    def get(self, key: str) -> Pieces | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def set(self, key: str, template: str) -> None:
        pieces = compile_template(template)
        size = sum(len(p) for p in pieces)
        with self.lock:
            if self.items.pop(key, None) is not None:
                self.used -= self.sizes.pop(key)
            self.items[key] = pieces
            self.sizes[key] = size
            self.used += size
            while self.used > self.budget and self.items:
                dropped, _ = self.items.popitem(last=False)
                self.used -= self.sizes.pop(dropped)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.sizes.clear()
            self.used = 0


class RedisStore:
    """Shared by every process and host using the same Redis."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def get(self, key: str) -> Pieces | None:
        value = self.client.get("gazette:page:" + key)
        return compile_template(value.decode()) if value is not None else None

    def set(self, key: str, template: str) -> None:
        self.client.set("gazette:page:" + key, template.encode(), ex=REDIS_TTL)

    def clear(self) -> None:
        for key in self.client.scan_iter("gazette:page:*"):
            self.client.delete(key)


def init_app(app: Flask) -> None:
    if app.config.get("REDIS_URL"):
        app.extensions["page_cache"] = RedisStore(app.config["REDIS_URL"])
    else:
        app.extensions["page_cache"] = MemoryStore()


def store():
    return current_app.extensions["page_cache"]


# ---------------------------------------------------------------- key parts


@lru_cache(maxsize=1)
def _statements():
    """The key queries, built once: they run on every cached page view, where building
    and compiling SQL would cost more than running it."""
    now = bindparam("now")
    # Each answered from an index, however big the site: how many articles are
    # published (scheduled ones appear by time alone), the last edit of any article,
    # and the settings version.
    edition = [
        select(func.count()).select_from(Article).where(Article.visible(now)).scalar_subquery(),
        select(func.max(Article.updated_at)).scalar_subquery(),
        select(Setting.value).where(Setting.key == site_settings.VERSION_KEY).scalar_subquery(),
    ]
    # Listings also show every article's comment count: the last change to any discussion.
    listing_stmt = select(*edition, select(func.max(Article.discussion_at)).scalar_subquery())
    # An article page shows its own discussion, and of other articles only titles and dates.
    article_stmt = select(Article.id, Article.cache_version, Article.updated_at, *edition).where(
        Article.slug == bindparam("slug"), Article.visible(now)
    )
    return listing_stmt, article_stmt


def site_version() -> tuple:
    """Changes whenever the published set, an article, any discussion (listings show
    comment counts) or a setting changes (one query)."""
    row = db.session.execute(_statements()[0], {"now": utcnow()}).one()
    return tuple(str(v) for v in row)


def article_version(slug: str) -> tuple:
    """The state of a published article, of its discussion and of what the page shows
    of the rest of the site, in one query (404 when there is no such published article)."""
    row = db.session.execute(_statements()[1], {"now": utcnow(), "slug": slug}).first()
    if row is None:
        abort(404)
    return tuple(str(v) for v in row)


def _personal() -> bool:
    """True when this visitor would see something of their own on the page."""
    if any(request.cookies.get(name) for name in PERSONAL_COOKIES):
        return True
    return "_user_id" in session


# ---------------------------------------------------------------- the decorator


def cached_page(key_parts: Callable[..., tuple]):
    """Serve the view's page from the cache when ``key_parts(**view_args)`` matches."""

    def decorate(view):
        @wraps(view)
        def wrapper(**kwargs):
            if not current_app.config.get("PAGE_CACHE", True) or request.method != "GET" or _personal():
                return view(**kwargs)
            if request.headers.get("HX-Request"):
                return view(**kwargs)
            parts = (request.endpoint, request.full_path, int(time.time() // BUCKET_SECONDS), key_parts(**kwargs))
            key = hashlib.sha256(repr(parts).encode()).hexdigest()
            try:
                pieces = store().get(key)
            except Exception:  # a cache outage must not take pages down
                log.warning("page cache unavailable", exc_info=True)
                return view(**kwargs)
            if pieces is not None:
                return _serve(pieces, key)
            response = make_response(view(**kwargs))
            if (
                response.status_code == 200
                and response.mimetype == "text/html"
                and not response.headers.get("Set-Cookie", "").startswith(PERSONAL_COOKIES)
            ):
                try:
                    store().set(key, _template_of(response.get_data(as_text=True)))
                except Exception:
                    log.warning("page cache unavailable", exc_info=True)
                else:
                    g.page_cache_key = key  # its hits will carry the same ETag (services.http_cache)
            return response

        return wrapper

    return decorate


def _template_of(body: str) -> str:
    """The page with this visitor's token and stamp replaced by placeholders."""
    token = g.get("csrf_token")
    if token:
        body = body.replace(token, CSRF_MARK)
    stamp = g.get("gz_form_stamp")
    if stamp:
        body = body.replace(stamp, STAMP_MARK)
    return body


def _serve(pieces: Pieces, key: str):
    from services.discussion import issue_stamp

    values: dict[str, bytes] = {}
    if CSRF_MARK in pieces:
        values[CSRF_MARK] = generate_csrf().encode()
    if STAMP_MARK in pieces:
        values[STAMP_MARK] = issue_stamp().encode()
    body = b"".join(values[p] if isinstance(p, str) else p for p in pieces)
    response = make_response(body)
    response.mimetype = "text/html"
    response.headers["X-Page-Cache"] = "hit"
    # The key already names this exact content: no need to hash 100s of KB for the ETag.
    g.page_cache_key = key
    return response
