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
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from functools import wraps

from flask import Flask, current_app, g, make_response, request, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select

from extensions import db
from models import Article
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


class MemoryStore:
    """A size-bounded LRU dict, one per process."""

    def __init__(self, budget: int = MEMORY_BUDGET):
        self.budget = budget
        self.used = 0
        self.items: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def set(self, key: str, value: str) -> None:
        with self.lock:
            old = self.items.pop(key, None)
            if old is not None:
                self.used -= len(old)
            self.items[key] = value
            self.used += len(value)
            while self.used > self.budget and self.items:
                _, dropped = self.items.popitem(last=False)
                self.used -= len(dropped)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.used = 0


class RedisStore:
    """Shared by every process and host using the same Redis."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def get(self, key: str) -> str | None:
        value = self.client.get("gazette:page:" + key)
        return value.decode() if value is not None else None

    def set(self, key: str, value: str) -> None:
        self.client.set("gazette:page:" + key, value.encode(), ex=REDIS_TTL)

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


def site_version() -> tuple:
    """Changes whenever the list of published articles or anything a listing shows of them does."""
    row = db.session.execute(
        select(func.count(Article.id), func.max(Article.updated_at), func.sum(Article.cache_version)).where(
            Article.visible()
        )
    ).one()
    return (row[0], str(row[1]), row[2])


def settings_version() -> str:
    values = json.dumps(asdict(site_settings.load()), sort_keys=True)
    return hashlib.sha1(values.encode(), usedforsecurity=False).hexdigest()[:12]


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
                body = store().get(key)
            except Exception:  # a cache outage must not take pages down
                log.warning("page cache unavailable", exc_info=True)
                return view(**kwargs)
            if body is not None:
                return _serve(body)
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


def _serve(body: str):
    from services.discussion import issue_stamp

    if CSRF_MARK in body:
        body = body.replace(CSRF_MARK, generate_csrf())
    if STAMP_MARK in body:
        body = body.replace(STAMP_MARK, issue_stamp())
    response = make_response(body)
    response.headers["X-Page-Cache"] = "hit"
    return response
