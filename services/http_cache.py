"""Conditional GET for pages and feeds, and year-long caching for fingerprinted static files.

Every GET page and feed gets an ``ETag`` (a hash of its body) and answers
``304 Not Modified`` when the browser already holds that version, so a reload
or a feed reader's poll costs no transfer.

Who may keep a copy:

* Feeds, the sitemap and robots.txt are the same for every visitor and touch no
  session: ``public`` with a short lifetime, so shared caches absorb pollers.
* HTML pages are not: ``base.html`` carries a CSRF token tied to the visitor's
  session, forms carry a signed time stamp, and a commenter sees their own
  pending comment. They are ``private, no-cache`` (browser only, revalidated
  every time) and ``Vary`` on the cookie and the htmx headers.

The CSRF token and the form stamp are re-signed on every render, so hashing
the raw body would give a new ETag every second. Their values are left out of
the hash; what they stand for goes in instead: the session's raw CSRF token
(a new session never matches an old copy) and a time bucket (a revalidated copy
never carries a token or stamp older than the bucket plus the copy's age, far
inside their 24-hour limits). Such ETags are weak: equivalent, not byte-equal.
If a template moves those attributes, masking simply stops matching and the
ETag changes more often; it is never wrong.
"""

from __future__ import annotations

import hashlib
import re
import time
from urllib.parse import parse_qs, urlsplit

from flask import Flask, Response, current_app, g, request, session

from services.templating import asset

# Readers' aggregators poll feeds; a minute of staleness lets a shared cache answer the bursts.
FEED_MAX_AGE = 60
# A fingerprinted URL changes whenever the file does, so its content never changes: cache for a year.
STATIC_MAX_AGE = 365 * 24 * 3600
# How long a revalidated page may keep the tokens it was rendered with (see the module docstring).
ETAG_BUCKET_SECONDS = 600

PUBLIC_ENDPOINTS = frozenset(
    {"news.site_feed", "news.category_feed", "news.comments_feed", "news.sitemap", "news.robots"}
)
# The dashboard and sign-in pages decide their own caching.
SKIPPED_BLUEPRINTS = frozenset({"admin", "auth"})
CACHEABLE_TYPES = frozenset(
    {"text/html", "application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "text/plain"}
)
# The request headers that choose between a page and an htmx fragment (services.errors.wants_fragment).
FRAGMENT_HEADERS = ("HX-Request", "HX-Request-Type", "HX-Boosted", "HX-History-Restore-Request")

_VOLATILE = re.compile(rb'(name="(?:[\w-]*-)?(?:csrf_token|csrf-token|issued)"[^>]*?(?:value|content)=")[^"]*(")')


def page_etag(body: bytes, *extra: str) -> str:
    """The ETag value of an HTML page: its body without per-render tokens, plus ``extra`` context."""
    digest = hashlib.sha256(_VOLATILE.sub(rb"\1\2", body))
    for part in extra:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:32]


def _visitor_context() -> list[str]:
    """What a page's per-visitor tokens stand for (see the module docstring)."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    bucket = str(int(time.time()) // ETAG_BUCKET_SECONDS)
    return [str(session.get(field, "")), bucket] + [request.headers.get(h, "") for h in FRAGMENT_HEADERS]


def page_etag_for(content_key: str) -> str:
    """The ETag of a page whose content is named by ``content_key`` (a page-cache key)."""
    digest = hashlib.sha256(content_key.encode())
    for part in _visitor_context():
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:32]


def _fingerprint_matches(filename: str, version: str) -> bool:
    """True when ``?v=`` is the file's current fingerprint (an old one gets no long lifetime)."""
    current = parse_qs(urlsplit(asset(filename)).query).get("v", [""])[0]
    return bool(version) and version == current


def _static(response: Response) -> Response:
    filename = (request.view_args or {}).get("filename", "")
    if response.status_code in (200, 304) and _fingerprint_matches(filename, request.args.get("v", "")):
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
    return response


def _cacheable(response: Response) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and not response.is_streamed
        and not response.direct_passthrough
        and "Cache-Control" not in response.headers
        and "ETag" not in response.headers
        and response.mimetype in CACHEABLE_TYPES
        and request.blueprint not in SKIPPED_BLUEPRINTS
    )


def conditional(response: Response) -> Response:
    """Add ETag, Cache-Control and Vary to a GET page or feed; 304 when the client's copy matches."""
    if request.endpoint == "static":
        return _static(response)
    if not _cacheable(response):
        return response
    # Flask-Login reads the session on every render, but a feed's body never depends on it;
    # what must not reach a shared cache is a cookie being set.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    sets_cookie = "Set-Cookie" in response.headers or app.session_interface.should_set_cookie(app, session)
    if request.endpoint in PUBLIC_ENDPOINTS and not sets_cookie:
        response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
        response.headers["Cache-Control"] = f"public, max-age={FEED_MAX_AGE}"
    else:
        cached_as = g.get("page_cache_key")  # a page the page cache names (services.page_cache)
        if cached_as:
            response.set_etag(page_etag_for(cached_as), weak=True)
        else:
            response.set_etag(page_etag(response.get_data(), *_visitor_context()), weak=True)
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.update(("Cookie",) + FRAGMENT_HEADERS)
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    """Register the conditional-GET hook (after_request, so it sees the final body)."""
    app.after_request(conditional)
