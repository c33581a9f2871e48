"""TrackBack 1.2, Pingback 1.0 and Webmention: receiving, verifying, storing; discovering and sending.

Every linkback is a ``Comment`` of kind trackback/pingback/webmention, so it goes
through the same moderation states and shows in the article's comments feed.

How a received linkback's status is decided (``judge``):

1. When ``verify_linkbacks`` is on, the citing page is fetched (``safe_fetch``) and
   must link to the article; if it does not, the ping is stored as **spam** (so a
   repeat is recognised as a duplicate) and the sender gets an error. TrackBack
   and Pingback verify while the sender waits (short timeouts); Webmention
   answers ``202`` at once and verifies in a background job (``services.jobs``).
2. Block words or a banned IP → spam; hold words → pending.
3. A ping that could not be verified (``verify_linkbacks`` off) is **pending**: a
   TrackBack's title, excerpt and URL are unverified request data, and an
   unchecked Pingback or Webmention is no better (WordPress holds them too).
4. The moderation policy: ``all`` → pending; ``first_time`` → pending unless the
   citing site (host) already has an approved linkback; ``open`` → approved.

Duplicates (a linkback from the same source URL on the same article, approved or
pending) are refused for TrackBack and Pingback; a refused one (spam or trash) is
judged again and updated by a later ping. A repeated Webmention updates the stored
one, and removes it when the source is gone (410) or no longer links.

No transaction is open while a citing page is fetched (``safe_fetch`` refuses to
fetch inside one): the checks read, the fetch runs with the database untouched,
and the result is stored in one short write transaction.
"""

from __future__ import annotations

import codecs
import html
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import unquote_to_bytes, urlencode, urljoin, urlsplit, urlunsplit
from xml.etree.ElementTree import ParseError
from xmlrpc.client import Fault

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_xml
from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from extensions import db, limiter
from models import (
    LINKBACK_KINDS,
    Article,
    ArticleStatus,
    AuditEntry,
    Comment,
    CommentKind,
    CommentStatus,
    Job,
    OutboundPing,
    utcnow,
)
from services import jobs, moderation, safe_fetch, sqlite, xmlrpc
from services import settings as site_settings
from services.discussion import refresh_counts
from services.sanitize import excerpt as html_excerpt
from services.sanitize import remote_text, strip_control, text_html
from services.templating import absolute_url, site_url

log = logging.getLogger(__name__)

# Stored sizes: what fits the columns, and an excerpt long enough for feeds.
# The page shows 300 characters of it; a megabyte sent as "excerpt" is cut here.
TITLE_MAX = 300
SITE_NAME_MAX = 120
EXCERPT_MAX = 1000
URL_MAX = 500
# Verification happens while a TrackBack or Pingback sender waits: keep it short.
SYNC_FETCH_TIMEOUT = 8.0
# Characters of context kept on each side of the link when quoting a citing page.
CONTEXT_CHARS = 150
# A citation from a very long page need not reach us: limit what one article sends.
MAX_TARGETS = 30
# A page found to take no pings is asked again only after this long.
NO_ENDPOINT_MEMORY = timedelta(days=1)
# TrackBack senders conventionally cut the excerpt to 252 characters (WordPress, MT).
SEND_EXCERPT_MAX = 252
# Per source host and per sender IP: stops us from being used to hammer one site
# with verification fetches, and one sender from flooding the queue.
DEFAULT_SOURCE_LIMIT = "20 per hour"
DEFAULT_IP_LIMIT = "60 per hour"

WEBMENTION_JOB = "webmention.verify"
SEND_JOB = "linkback.send"
SENT, QUEUED, RETRYING, FAILED, NO_ENDPOINT, SKIPPED = "sent", "queued", "retrying", "failed", "no_endpoint", "skipped"

# Pingback 1.0 fault codes (hixie.ch/specs/pingback/pingback).
FAULT_GENERIC = 0
FAULT_SOURCE_MISSING = 0x0010
FAULT_NO_LINK = 0x0011
FAULT_TARGET_MISSING = 0x0020
FAULT_TARGET_INVALID = 0x0021
FAULT_ALREADY_REGISTERED = 0x0030
FAULT_ACCESS_DENIED = 0x0031
FAULT_UPSTREAM = 0x0032

FAULT_CODES = {
    "source_invalid": FAULT_SOURCE_MISSING,
    "source_missing": FAULT_SOURCE_MISSING,
    "source_upstream": FAULT_UPSTREAM,
    "no_link": FAULT_NO_LINK,
    "target_missing": FAULT_TARGET_MISSING,
    "target_invalid": FAULT_TARGET_INVALID,
    "closed": FAULT_TARGET_INVALID,
    "duplicate": FAULT_ALREADY_REGISTERED,
    "denied": FAULT_ACCESS_DENIED,
    "same": FAULT_GENERIC,
    "bad_request": FAULT_GENERIC,
}


class LinkbackError(Exception):
    """A ping we refuse. ``code`` names the reason (see FAULT_CODES); ``status`` is for Webmention."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @property
    def fault_code(self) -> int:
        return FAULT_CODES.get(self.code, FAULT_GENERIC)


@dataclass
class Received:
    """A stored linkback: its id, its status and why."""

    comment_id: int
    status: str
    reason: str = ""

    @property
    def is_spam(self) -> bool:
        return self.status == CommentStatus.SPAM.value


# ---------------------------------------------------------------- URLs


def valid_url(url: str | None, what: str, code: str) -> str:
    """``url`` stripped, if it is an absolute http(s) URL that fits our column; else LinkbackError."""
    url = strip_control(url or "").strip()
    if not url:
        raise LinkbackError(code, f"The {what} URL is missing.")
    if len(url) > URL_MAX:
        raise LinkbackError(code, f"The {what} URL is longer than {URL_MAX} characters.")
    try:
        safe_fetch.check_url(url)
    except safe_fetch.FetchError:
        raise LinkbackError(code, f"The {what} URL must be an absolute http or https URL.") from None
    return url


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return ""
    default = 443 if parts.scheme.lower() == "https" else 80
    return f"{host}:{port}" if port and port != default else host


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def host_of(url: str) -> str:
    """The host (and non-default port) of a URL, lower-cased: the unit for rate limits."""
    return _netloc(url)


def own_netlocs() -> set[str]:
    """The host of this site (SITE_URL's; the request's only when SITE_URL is unset).

    Never the request's Host header next to SITE_URL: a forged Host would let a
    page that links to the forger's own domain pass as a link to us.
    """
    host = _netloc(site_url())
    return {host} if host else set()


def article_urls(article: Article, *extra: str) -> set[str]:
    """The URLs that count as a link to ``article``: its permalink, with or without a
    trailing slash, over http or https (plus ``extra``, e.g. the pinged target)."""
    parts = urlsplit(absolute_url("news.article", slug=article.slug))
    urls: set[str] = set()
    for scheme in ("http", "https"):
        for path in {parts.path, parts.path.rstrip("/") + "/", parts.path.rstrip("/")}:
            urls.add(urlunsplit((scheme, parts.netloc, path, "", "")))
    urls.update(_without_fragment(e) for e in extra if e)
    return urls


def article_for_target(target: str) -> Article:
    """The published article a target URL names; LinkbackError when it is not one of ours."""
    if _netloc(target) not in own_netlocs():
        raise LinkbackError("target_missing", "The target URL is not on this site.")
    path = urlsplit(target).path or "/"
    prefix = urlsplit(site_url()).path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, args = adapter.match(path, method="GET")
    except Exception:  # NotFound, MethodNotAllowed, RequestRedirect: not an article page
        raise LinkbackError("target_missing", "The target URL does not exist on this site.") from None
    if endpoint != "news.article":
        raise LinkbackError("target_invalid", "The target URL is not an article that accepts pings.")
    article = db.session.scalar(select(Article).where(Article.slug == args["slug"], Article.visible()))
    if article is None:
        raise LinkbackError("target_missing", "The target URL does not exist on this site.")
    return article


def visible_article(slug: str) -> Article:
    article = db.session.scalar(select(Article).where(Article.slug == slug, Article.visible()))
    if article is None:
        raise LinkbackError("target_missing", "There is no article at this address.")
    return article


def pings_closed(article: Article) -> bool:
    """Pings close with the article's switch, and with comments after ``close_after_days``."""
    if not article.pings_open:
        return True
    days = site_settings.load().close_after_days
    return bool(days and article.published_at and article.published_at < utcnow() - timedelta(days=days))


# ---------------------------------------------------------------- reading remote pages

_SKIP_TEXT = {"script", "style", "noscript", "template", "svg"}
_LINK_ATTRS = {
    "a": "href",
    "area": "href",
    "img": "src",
    "video": "src",
    "audio": "src",
    "source": "src",
    "iframe": "src",
    "blockquote": "cite",
    "q": "cite",
}


class _PageScanner(HTMLParser):
    """One pass over an HTML page: title, site name, rel links, and where it links to ``targets``."""

    def __init__(self, base_url: str, targets: set[str]):
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.targets = targets
        self.title = ""
        self.site_name = ""
        self.rels: list[tuple[str, str]] = []  # (rel token, absolute href), in document order
        self.text: list[str] = []
        self.size = 0
        self.hit_at: int | None = None
        self._skip = 0
        self._in_title = False

    def _resolve(self, value: str) -> str:
        try:
            return urljoin(self.base_url, value.strip())
        except ValueError:
            return ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in _SKIP_TEXT:
            self._skip += 1
        elif tag == "title" and not self.title:
            self._in_title = True
        elif tag == "meta":
            key = (a.get("property") or a.get("name") or "").lower()
            if key in {"og:site_name", "application-name"} and not self.site_name:
                self.site_name = a.get("content", "")
        if tag in {"link", "a"} and "rel" in a and "href" in a:
            href = self._resolve(a["href"])
            for token in a["rel"].lower().split():
                self.rels.append((token, href))
        attr = _LINK_ATTRS.get(tag)
        if attr and self.hit_at is None and a.get(attr):
            href = self._resolve(a[attr])
            if href in self.targets or _without_fragment(href) in self.targets:
                self.hit_at = self.size

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TEXT and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skip:
            return
        self.text.append(data)
        self.size += len(data)


@dataclass
class SourcePage:
    """A fetched citing page, as far as linkbacks care."""

    url: str
    status: int
    links: bool = False
    title: str = ""
    site_name: str = ""
    excerpt: str = ""
    rels: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""


def _is_html(content_type: str) -> bool:
    return content_type in {"", "text/html", "application/xhtml+xml"}


def _context_excerpt(parts: list[str], at: int) -> str:
    text = "".join(parts)
    before = re.sub(r"\s+", " ", text[max(at - CONTEXT_CHARS * 3, 0) : at]).strip()
    after = re.sub(r"\s+", " ", text[at : at + CONTEXT_CHARS * 3]).strip()
    before = before[-CONTEXT_CHARS:].split(" ", 1)[-1] if len(before) > CONTEXT_CHARS else before
    after = after[:CONTEXT_CHARS].rsplit(" ", 1)[0] if len(after) > CONTEXT_CHARS else after
    return f"[…] {before} {after} […]".replace("  ", " ")


def read_page(response: safe_fetch.Response, targets: set[str]) -> SourcePage:
    """What a fetched page says: its title, site name, rel links, and whether it links to ``targets``."""
    page = SourcePage(url=response.url, status=response.status)
    text = response.text()
    page.body = text
    ctype = response.content_type
    if _is_html(ctype):
        scanner = _PageScanner(response.url, targets)
        try:
            scanner.feed(text)
            scanner.close()
        except (AssertionError, ValueError):  # HTMLParser gives up on some broken markup
            pass
        page.title = scanner.title
        page.site_name = scanner.site_name
        page.rels = scanner.rels
        if scanner.hit_at is not None:
            page.links = True
            page.excerpt = _context_excerpt(scanner.text, scanner.hit_at)
    elif ctype == "application/json" or ctype.endswith("+json"):
        try:
            page.links = _json_mentions(json.loads(text), targets)
        except (ValueError, RecursionError):
            page.links = False
    elif ctype.startswith("text/"):
        # Plain text: a string search, as the Webmention recommendation says.
        at = min((text.find(t) for t in targets if t in text), default=-1)
        page.links = at >= 0
        if page.links:
            page.excerpt = _context_excerpt([text], at)
    return page


def _json_mentions(value, targets: set[str], depth: int = 0) -> bool:
    if depth > 32:
        return False
    if isinstance(value, str):
        return value in targets
    if isinstance(value, list):
        return any(_json_mentions(v, targets, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_json_mentions(v, targets, depth + 1) for v in value.values())
    return False


def _fetch_config(name: str, default):
    return current_app.config.get(name, default)


def fetch_source(source: str, targets: set[str], timeout: float) -> SourcePage:
    """Fetch a citing page (safely) and read it. A 410 comes back as a page with
    status 410; other failures raise LinkbackError (``source_upstream`` when worth retrying)."""
    max_bytes = _fetch_config("LINKBACK_FETCH_MAX_BYTES", safe_fetch.MAX_BYTES)
    timeout = _fetch_config("LINKBACK_FETCH_TIMEOUT", timeout)
    try:
        response = safe_fetch.fetch(
            source,
            timeout=timeout,
            max_bytes=max_bytes,
            headers={"Accept": "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5, */*;q=0.1"},
        )
    except safe_fetch.FetchError as exc:
        code = "source_upstream" if exc.transient else "source_missing"
        raise LinkbackError(code, f"The source URL could not be fetched: {exc.message}") from None
    if response.status == 410:
        return SourcePage(url=response.url, status=410)
    if response.status >= 500:
        raise LinkbackError("source_upstream", f"The source URL answered HTTP {response.status}.")
    if response.status >= 300:
        raise LinkbackError("source_missing", f"The source URL answered HTTP {response.status}.")
    return read_page(response, targets)


# ---------------------------------------------------------------- policy and storage


def _check_rate(source: str, ip: str) -> None:
    """Per source host and per sender IP limits (in the rate-limit store: Redis when shared)."""
    if not current_app.config.get("RATELIMIT_ENABLED"):
        return
    from limits import parse

    checks = [
        ("source", host_of(source), current_app.config.get("LINKBACK_SOURCE_LIMIT", DEFAULT_SOURCE_LIMIT)),
        ("ip", ip, current_app.config.get("LINKBACK_IP_LIMIT", DEFAULT_IP_LIMIT)),
    ]
    for scope, key, rule in checks:
        if not key:
            continue
        try:
            allowed = limiter.limiter.hit(parse(rule), "gazette-linkbacks", scope, key)
        except Exception:  # the store is down: fail open, as flask-limiter does for views
            log.warning("linkback rate limit store unavailable")
            return
        if not allowed:
            raise LinkbackError("denied", "Too many pings from this site; please try again later.", status=429)


def _previously_approved_host(host: str) -> bool:
    like = [f"http://{host}/%", f"https://{host}/%"]
    return bool(
        db.session.scalar(
            select(Comment.id)
            .where(
                Comment.kind.in_(LINKBACK_KINDS),
                Comment.status == CommentStatus.APPROVED.value,
                Comment.source_url.like(like[0]) | Comment.source_url.like(like[1]),
            )
            .limit(1)
        )
    )


def judge(verified: bool | None, *, source: str, site_name: str, title: str, excerpt: str, ip: str) -> tuple[str, str]:
    """The status (and reason) a linkback starts in; the rules are in the module docstring."""
    s = site_settings.load()
    if verified is False:
        return CommentStatus.SPAM.value, "the source does not link to the article"
    block = moderation._words(s.block_words)
    if moderation._matches(block, site_name, source, title, excerpt, ip) or moderation.is_banned(s, ip, ""):
        return CommentStatus.SPAM.value, "blocklist"
    if moderation._matches(moderation._words(s.hold_words), site_name, source, title, excerpt, ip):
        return CommentStatus.PENDING.value, "hold word"
    if verified is None:
        return CommentStatus.PENDING.value, "not verified"
    if s.moderation == "all":
        return CommentStatus.PENDING.value, "all comments are moderated"
    if s.moderation == "first_time" and not _previously_approved_host(host_of(source)):
        return CommentStatus.PENDING.value, "first linkback from this site"
    return CommentStatus.APPROVED.value, ""


def existing_linkback(article_id: int, source: str) -> Comment | None:
    return db.session.scalar(
        select(Comment)
        .where(Comment.article_id == article_id, Comment.source_url == source, Comment.kind.in_(LINKBACK_KINDS))
        .order_by(Comment.id)
        .limit(1)
    )


# A linkback in one of these states stands: another ping from its source is a duplicate.
# A refused one (spam, trash) does not: a later ping is judged afresh and updates it, so
# a TrackBack sent before the citing page linked cannot block that page's real Pingback.
STANDING = (CommentStatus.APPROVED.value, CommentStatus.PENDING.value)


def _refuse_duplicate(article_id: int, source: str) -> None:
    standing = db.session.scalar(
        select(Comment.id)
        .where(
            Comment.article_id == article_id,
            Comment.source_url == source,
            Comment.kind.in_(LINKBACK_KINDS),
            Comment.status.in_(STANDING),
        )
        .limit(1)
    )
    if standing is not None:
        raise LinkbackError("duplicate", "There is already a ping from that URL for this article.")


def _moderated(comment_id: int) -> bool:
    """Whether a moderator has acted on this comment (the audit log says so)."""
    return (
        db.session.scalar(
            select(AuditEntry.id)
            .where(AuditEntry.target_type == "comment", AuditEntry.target_id == comment_id)
            .limit(1)
        )
        is not None
    )


def _guard(article: Article, source: str, ip: str, what: str) -> None:
    """The checks every protocol shares, before any fetch."""
    if pings_closed(article):
        raise LinkbackError("closed", f"Sorry, {what} are closed for this article.")
    if moderation.is_banned(site_settings.load(), ip, ""):
        raise LinkbackError("denied", "Pings from your address are not accepted.", status=403)
    _check_rate(source, ip)


def _store(
    article: Article,
    kind: str,
    *,
    source: str,
    title: str,
    site_name: str,
    excerpt: str,
    status: str,
    ip: str,
    user_agent: str,
) -> Comment:
    now = utcnow()
    comment = Comment(
        article_id=article.id,
        kind=kind,
        status=status,
        depth=0,
        author_name=site_name or host_of(source),
        author_url=source,
        source_url=source,
        title=title,
        body_source=excerpt,
        body_html=text_html(excerpt),
        ip=(ip or "")[:45],
        user_agent=(user_agent or "")[:255],
        created_at=now,
        updated_at=now,
    )
    db.session.add(comment)
    db.session.flush()
    if status == CommentStatus.APPROVED.value:
        refresh_counts(article.id)
    return comment


def _log(kind: str, article_id: int, source: str, outcome: str) -> None:
    # The citing site's host only: no sender IP, no full URLs in the log.
    log.info("%s for article %s from %s: %s", kind, article_id, host_of(source), outcome)


def _commit_received(kind: str, article_id: int, comment: Comment, reason: str, status: str) -> Received:
    # Read what we report before committing: nothing is reloaded afterwards.
    received = Received(comment.id, status, reason)
    db.session.commit()
    _log(kind, article_id, comment.source_url or "", received.status)
    return received


# ---------------------------------------------------------------- TrackBack


def form_charset(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _decoder(charset: str) -> str:
    try:
        info = codecs.lookup(charset)
    except LookupError:
        raise LinkbackError("bad_request", f"Unknown charset: {charset[:40]}.") from None
    # UTF-7 can smuggle markup past filters (WordPress refuses it too); the others are not text.
    if info.name in {"utf-7"} or not getattr(info, "_is_text_encoding", True):
        raise LinkbackError("bad_request", f"The charset {charset[:40]} is not accepted.")
    return info.name


def parse_form(body: bytes, charset: str | None) -> dict[str, str]:
    """Decode an ``application/x-www-form-urlencoded`` body in ``charset`` (UTF-8 by default).

    Werkzeug always decodes forms as UTF-8, so TrackBack's charset is honoured here.
    Bytes that are not valid in the charset raise LinkbackError, never mojibake.
    A ``charset`` form field (as WordPress reads) is used when the header has none.
    """
    pairs: list[tuple[bytes, bytes]] = []
    for chunk in body.split(b"&"):
        if not chunk:
            continue
        name, _, value = chunk.partition(b"=")
        pairs.append((unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))))
    if charset is None:
        declared = next((v for n, v in pairs if n == b"charset"), b"")
        charset = declared.decode("ascii", "replace").strip() or None
    codec = _decoder(charset or "utf-8")
    fields: dict[str, str] = {}
    try:
        for name, value in pairs:
            key = name.decode(codec)
            if key not in fields:
                fields[key] = value.decode(codec)
    except (UnicodeDecodeError, LookupError):
        raise LinkbackError(
            "bad_request", f"The ping is not valid {charset or 'UTF-8'}; declare its charset."
        ) from None
    return fields


def receive_trackback(slug: str, fields: dict[str, str], *, ip: str, user_agent: str) -> Received:
    """Check, verify and store a TrackBack ping (commits); raises LinkbackError."""
    sqlite.read_first()  # the checks only read; see _verify_and_store
    article = visible_article(slug)
    if not (fields.get("url") or "").strip():
        raise LinkbackError("bad_request", "The url parameter is required.")
    source = valid_url(fields.get("url"), "source", "source_invalid")
    _guard(article, source, ip, "trackbacks")
    _refuse_duplicate(article.id, source)
    ping = _Ping(
        article_id=article.id,
        kind=CommentKind.TRACKBACK.value,
        source=source,
        urls=article_urls(article),
        title=remote_text(fields.get("title", ""), TITLE_MAX),
        site_name=remote_text(fields.get("blog_name", ""), SITE_NAME_MAX),
        excerpt=remote_text(fields.get("excerpt", ""), EXCERPT_MAX),
        ip=ip,
        user_agent=user_agent,
    )
    received, _ = _verify_and_store(ping)
    return received


@dataclass
class _Ping:
    """What the checks before the fetch learned about a TrackBack or Pingback.

    ``excerpt`` is None for a Pingback (it carries none: the page's context is
    used); a TrackBack's own excerpt is kept even when empty."""

    article_id: int
    kind: str
    source: str
    urls: set[str]
    title: str
    site_name: str
    excerpt: str | None
    ip: str
    user_agent: str


def _verify_and_store(ping: _Ping) -> tuple[Received, bool | None]:
    """Fetch the source (when verification is on) with no transaction open, fill in
    from the page what the sender left out, then decide the status and store it in
    one short write transaction (commits). Returns the result and whether the source
    links to us (None when it was not checked)."""
    verify = site_settings.load().verify_linkbacks
    # The checks above only read. End their transaction: the citing page may take
    # seconds to answer, and no lock or snapshot may be held meanwhile. On SQLite
    # the next transaction takes the write lock at BEGIN, just for the insert.
    sqlite.write_next()
    title, site_name, excerpt = ping.title, ping.site_name, ping.excerpt
    verified: bool | None = None
    if verify:
        page = fetch_source(ping.source, ping.urls, SYNC_FETCH_TIMEOUT)
        if page.status == 410:
            raise LinkbackError("source_missing", "The source URL is gone.")
        verified = page.links
        title = title or remote_text(page.title, TITLE_MAX)
        site_name = site_name or remote_text(page.site_name, SITE_NAME_MAX)
        if excerpt is None:
            excerpt = remote_text(page.excerpt, EXCERPT_MAX)
    excerpt = excerpt or ""

    article = db.session.get(Article, ping.article_id)
    if article is None or not article.is_visible:
        raise LinkbackError("target_missing", "There is no article at this address.")
    # Again, now under the write lock: a ping from the same source may have landed meanwhile.
    _refuse_duplicate(article.id, ping.source)
    status, reason = judge(verified, source=ping.source, site_name=site_name, title=title, excerpt=excerpt, ip=ping.ip)
    refused = existing_linkback(article.id, ping.source)
    if refused is None:
        comment = _store(
            article,
            ping.kind,
            source=ping.source,
            title=title or ping.source[:TITLE_MAX],
            site_name=site_name,
            excerpt=excerpt,
            status=status,
            ip=ping.ip,
            user_agent=ping.user_agent,
        )
    elif status == CommentStatus.SPAM.value:
        comment = refused  # refused again: it stays as it was
    else:
        # A moderator's refusal is not overturned by the sender: back to review.
        if status == CommentStatus.APPROVED.value and _moderated(refused.id):
            status, reason = CommentStatus.PENDING.value, "refused by a moderator before"
        comment = refused
        comment.kind = ping.kind
        comment.status = status
        comment.title = title or ping.source[:TITLE_MAX]
        comment.author_name = site_name or host_of(ping.source)
        comment.body_source = excerpt
        comment.body_html = text_html(excerpt)
        comment.ip = (ping.ip or "")[:45]
        comment.user_agent = (ping.user_agent or "")[:255]
        comment.updated_at = utcnow()
        refresh_counts(article.id)
    return _commit_received(ping.kind, article.id, comment, reason, status), verified


# ---------------------------------------------------------------- Pingback


def receive_pingback(source: str, target: str, *, ip: str, user_agent: str) -> Received:
    """Check, verify and store a Pingback (commits); raises LinkbackError (see ``fault_code``)."""
    sqlite.read_first()  # the checks only read; see _verify_and_store
    source = valid_url(source if isinstance(source, str) else "", "source", "source_invalid")
    target = valid_url(target if isinstance(target, str) else "", "target", "target_missing")
    if _without_fragment(source) == _without_fragment(target):
        raise LinkbackError("same", "The source and target URLs cannot be the same page.")
    article = article_for_target(target)
    _guard(article, source, ip, "pingbacks")
    _refuse_duplicate(article.id, source)
    ping = _Ping(
        article_id=article.id,
        kind=CommentKind.PINGBACK.value,
        source=source,
        urls=article_urls(article, target),
        title="",
        site_name="",
        excerpt=None,
        ip=ip,
        user_agent=user_agent,
    )
    received, verified = _verify_and_store(ping)
    if verified is False:
        raise LinkbackError("no_link", "The source URL does not contain a link to the target URL.")
    return received


# ---------------------------------------------------------------- Webmention


def _status_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="webmention-status")


def status_token(job_id: int) -> str:
    return _status_serializer().dumps(job_id)


def job_for_token(token: str) -> Job | None:
    """The webmention job behind a status URL token (None when forged or gone)."""
    try:
        job_id = _status_serializer().loads(token)
    except BadSignature:
        return None
    job = db.session.get(Job, job_id) if isinstance(job_id, int) else None
    return job if job is not None and job.kind == WEBMENTION_JOB else None


@dataclass
class JobStatus:
    """What the Webmention status page says."""

    state: str  # queued, approved, pending, rejected, deleted, failed
    label: str
    detail: str
    source: str
    target: str


_OUTCOMES = {
    "approved": "Verified and published.",
    "pending": "Verified; awaiting moderation.",
    "unchanged": "Received.",
    "spam": "Rejected: the source does not link to the target.",
    "deleted": "Removed.",
    "rejected": "Rejected.",
}


def describe_job(job: Job) -> JobStatus:
    """The public state of a Webmention job, for its status URL."""
    try:
        payload = json.loads(job.payload or "{}")
    except ValueError:
        payload = {}
    source, target = str(payload.get("source", "")), str(payload.get("target", ""))
    if job.state in (jobs.QUEUED, jobs.RUNNING):
        detail = "A first attempt to fetch the source failed; it will be tried again." if job.attempts else ""
        return JobStatus("queued", "Waiting to be verified.", detail, source, target)
    if job.state == jobs.FAILED:
        return JobStatus("failed", "The source could not be fetched.", "", source, target)
    outcome, _, detail = (job.result or "").partition(": ")
    state = outcome if outcome in _OUTCOMES else "rejected"
    shown = detail if state in {"rejected", "deleted"} else ""
    return JobStatus(state, _OUTCOMES[state], shown, source, target)


def accept_webmention(source: str | None, target: str | None, *, ip: str, user_agent: str) -> int:
    """The synchronous part of receiving a Webmention: validate, queue verification (commits).
    Returns the id of the verification job."""
    if not source or not target:
        raise LinkbackError("bad_request", "Both source and target are required.")
    source = valid_url(source, "source", "source_invalid")
    target = valid_url(target, "target", "target_missing")
    if source == target or _without_fragment(source) == _without_fragment(target):
        raise LinkbackError("same", "The source and target must be different URLs.")
    if safe_fetch.plainly_refused(source):
        raise LinkbackError("source_invalid", "The source URL points to an address that is not fetched.")
    article = article_for_target(_without_fragment(target))
    _guard(article, source, ip, "webmentions")
    article_id = article.id
    job = jobs.enqueue(
        WEBMENTION_JOB,
        {
            "source": source,
            "target": target,
            "article_id": article.id,
            "ip": (ip or "")[:45],
            "user_agent": (user_agent or "")[:255],
            "base_url": site_url(),
        },
    )
    job_id = job.id
    db.session.commit()
    _log("webmention", article_id, source, "queued")
    jobs.kick()
    return job_id


@jobs.handler(WEBMENTION_JOB)
def verify_webmention(payload: dict, attempt: int) -> str:
    """Fetch the source of a queued Webmention and create, update or remove the linkback."""
    source, target = payload["source"], payload["target"]
    ip, user_agent = payload.get("ip", ""), payload.get("user_agent", "")
    sqlite.read_first()
    article = db.session.get(Article, payload.get("article_id"))
    if article is None or not article.is_visible or pings_closed(article):
        return "rejected: the target no longer accepts Webmentions"
    article_id = article.id
    targets = article_urls(article, target)
    verify = site_settings.load().verify_linkbacks
    sqlite.write_next()  # no transaction open while we wait for the remote site

    verified: bool | None = None
    page: SourcePage | None = None
    if verify:
        try:
            page = fetch_source(source, targets, safe_fetch.TOTAL_TIMEOUT)
        except LinkbackError as exc:
            if exc.code == "source_upstream":
                raise jobs.RetryLater(exc.message) from None
            return f"rejected: {exc.message}"
        verified = page.status != 410 and page.links

    article = db.session.get(Article, article_id)
    if article is None:
        return "rejected: the article was deleted"
    existing = existing_linkback(article.id, source)
    if page is None and existing is not None:
        return f"unchanged: linkback {existing.id} (verification is off)"
    if page is not None and (page.status == 410 or not page.links):
        why = "the source is gone" if page.status == 410 else "the source no longer links to the target"
        if existing is not None:
            if existing.status != CommentStatus.TRASH.value:
                existing.status = CommentStatus.TRASH.value
                refresh_counts(article_id)
                db.session.commit()
                _log("webmention", article_id, source, "removed")
            return f"deleted: {why}"
        if page.status == 410:
            return f"rejected: {why}"

    title = remote_text(page.title, TITLE_MAX) if page else ""
    site_name = remote_text(page.site_name, SITE_NAME_MAX) if page else ""
    excerpt = remote_text(page.excerpt, EXCERPT_MAX) if page else ""
    status, reason = judge(verified, source=source, site_name=site_name, title=title, excerpt=excerpt, ip=ip)
    if existing is None:
        comment = _store(
            article,
            CommentKind.WEBMENTION.value,
            source=source,
            title=title or source[:TITLE_MAX],
            site_name=site_name,
            excerpt=excerpt,
            status=status,
            ip=ip,
            user_agent=user_agent,
        )
    else:
        comment = existing
        # An update never lifts a mention a moderator (or an earlier check) put
        # in spam or trash straight back onto the page: it waits for review.
        if status == CommentStatus.APPROVED.value and comment.status in (
            CommentStatus.SPAM.value,
            CommentStatus.TRASH.value,
        ):
            status = CommentStatus.PENDING.value
        if page is not None:
            comment.title = title or comment.title
            comment.author_name = site_name or comment.author_name
            comment.body_source = excerpt
            comment.body_html = text_html(excerpt)
        comment.status = status
        comment.updated_at = utcnow()
        refresh_counts(article.id)
    comment_id = comment.id
    db.session.commit()
    _log("webmention", article_id, source, status)
    return f"{status}: linkback {comment_id}" + (f" ({reason})" if reason else "")


# ---------------------------------------------------------------- sending


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href.strip())


def outbound_links(body_html: str, exclude_hosts: set[str]) -> list[str]:
    """The external pages an article cites: absolute http(s) links, not to a bare home page,
    not to this site, each once, in order, at most MAX_TARGETS."""
    collector = _LinkCollector()
    collector.feed(body_html or "")
    seen: list[str] = []
    for href in collector.hrefs:
        url = _without_fragment(href)
        parts = urlsplit(url)
        if parts.scheme.lower() not in {"http", "https"} or not parts.hostname or len(url) > URL_MAX:
            continue
        # A link to a site's front page cites the site, not a post that could take a ping.
        if parts.path in {"", "/"} and not parts.query:
            continue
        if _netloc(url) in exclude_hosts or url in seen:
            continue
        seen.append(url)
        if len(seen) >= MAX_TARGETS:
            break
    return seen


def explicit_ping_urls(article: Article) -> list[str]:
    """The TrackBack URLs an editor asked to ping (``ping_urls``, one per line)."""
    urls: list[str] = []
    for line in (article.ping_urls or "").splitlines():
        line = line.strip()
        try:
            url = valid_url(line, "trackback", "bad_request") if line else ""
        except LinkbackError:
            continue
        if url and url not in urls:
            urls.append(url)
    return urls[:MAX_TARGETS]


def _base_url() -> str:
    base = current_app.config.get("SITE_URL")
    if base:
        return base
    if has_request_context():
        return request.url_root.rstrip("/")
    raise RuntimeError("Set SITE_URL to send pings outside a web request.")


def notify_article(article_id: int) -> None:
    """Queue outbound pings for a published article's links and its explicit ``ping_urls`` (commits).

    Idempotent: a target already pinged successfully for this article, with a ping
    still queued, or found to take no pings in the last day, is skipped. Pings for a
    scheduled article wait for its time.
    """
    article = db.session.get(Article, article_id)
    if article is None or article.status == ArticleStatus.DRAFT.value or article.published_at is None:
        return
    article_id = article.id
    base = _base_url()
    explicit = explicit_ping_urls(article)
    targets = explicit + [u for u in outbound_links(article.body_html, own_netlocs()) if u not in explicit]
    # Done, under way, or found to have no endpoint lately: a page that takes no
    # pings is not fetched again on every save of the article.
    busy = set(
        db.session.scalars(
            select(OutboundPing.target_url).where(
                OutboundPing.article_id == article.id,
                OutboundPing.status.in_((SENT, QUEUED, RETRYING))
                | ((OutboundPing.status == NO_ENDPOINT) & (OutboundPing.created_at > utcnow() - NO_ENDPOINT_MEMORY)),
            )
        )
    )
    run_at = max(article.published_at, utcnow())
    queued = 0
    try:
        for url in targets:
            if url in busy:
                continue
            is_explicit = url in explicit
            ping = OutboundPing(
                article_id=article_id,
                target_url=url,
                protocol="trackback" if is_explicit else "",
                endpoint=url if is_explicit else "",
                status=QUEUED,
            )
            db.session.add(ping)
            db.session.flush()
            jobs.enqueue(SEND_JOB, {"ping_id": ping.id, "explicit": is_explicit, "base_url": base}, run_at=run_at)
            queued += 1
        db.session.commit()
    except Exception:
        db.session.rollback()  # all the pings or none: the caller's session is left clean
        raise
    if queued:
        log.info("queued %s outbound ping(s) for article %s", queued, article_id)
        jobs.kick()


def _link_header_endpoints(values: list[str], base: str, rel: str) -> list[str]:
    found = []
    for value in values:
        for match in re.finditer(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)", value):
            params = match.group(2)
            rel_match = re.search(r"""\brel\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;,]*))""", params, re.I)
            if rel_match:
                tokens = (rel_match.group(1) or rel_match.group(2) or rel_match.group(3) or "").lower().split()
                if rel in tokens:
                    found.append(urljoin(base, match.group(1).strip()))
    return found


_RDF = re.compile(r"<rdf:RDF\b.*?</rdf:RDF>", re.S | re.I)


def _rdf_attr(block: str, name: str) -> str | None:
    m = re.search(rf"""{re.escape(name)}\s*=\s*(?:"([^"]*)"|'([^']*)')""", block)
    return html.unescape(m.group(1) if m.group(1) is not None else m.group(2)) if m else None


def discover(target: str) -> list[tuple[str, str]]:
    """The ping endpoints a page advertises, in the order we try them:
    Webmention (Link header, then <link>/<a rel>), Pingback (X-Pingback, then <link>),
    TrackBack (RDF whose dc:identifier is the page, then <link rel="trackback">)."""
    try:
        response = safe_fetch.fetch(target, headers={"Accept": "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"})
    except safe_fetch.FetchError as exc:
        if exc.transient:
            raise jobs.RetryLater(exc.message) from None
        raise jobs.JobFailed(f"the page could not be fetched: {exc.message}") from None
    if response.status >= 500:
        raise jobs.RetryLater(f"the page answered HTTP {response.status}")
    if response.status >= 400:
        raise jobs.JobFailed(f"the page answered HTTP {response.status}")
    page = read_page(response, set()) if _is_html(response.content_type) else SourcePage(response.url, 200)
    final = response.url
    found: list[tuple[str, str]] = []

    wm = _link_header_endpoints(response.header_all("Link"), final, "webmention")
    wm += [href for rel, href in page.rels if rel == "webmention"]
    if wm:
        found.append(("webmention", wm[0]))

    pb = [urljoin(final, v.strip()) for v in response.header_all("X-Pingback") if v.strip()]
    pb += [href for rel, href in page.rels if rel == "pingback"]
    if pb:
        found.append(("pingback", pb[0]))

    identities = {target, _without_fragment(target), final, _without_fragment(final)}
    tb = []
    for block in _RDF.findall(page.body):
        if _rdf_attr(block, "dc:identifier") in identities:
            ping = _rdf_attr(block, "trackback:ping")
            if ping:
                tb.append(urljoin(final, ping))
    tb += [href for rel, href in page.rels if rel == "trackback"]
    if tb:
        found.append(("trackback", tb[0]))
    return [(protocol, url) for protocol, url in found if url.startswith(("http://", "https://"))]


@dataclass
class Outcome:
    ok: bool
    detail: str
    transient: bool = False


def _post(endpoint: str, body: bytes, content_type: str) -> safe_fetch.Response:
    return safe_fetch.fetch(
        endpoint,
        method="POST",
        data=body,
        headers={"Content-Type": content_type},
        max_bytes=xmlrpc.MAX_RESPONSE_BYTES,
    )


def send_webmention(endpoint: str, source: str, target: str) -> Outcome:
    """POST source and target to a Webmention endpoint (its query string kept as is)."""
    response = _post(
        endpoint, urlencode({"source": source, "target": target}).encode(), "application/x-www-form-urlencoded"
    )
    if 200 <= response.status < 300:
        where = response.headers.get("Location")
        return Outcome(True, f"HTTP {response.status}" + (f", status at {where}" if where else ""))
    return Outcome(False, f"HTTP {response.status}", transient=response.status >= 500)


def send_pingback(server: str, source: str, target: str) -> Outcome:
    """Call ``pingback.ping(source, target)``; "already registered" (0x0030) counts as done."""
    response = _post(server, xmlrpc.call("pingback.ping", source, target), "text/xml")
    if response.status != 200:
        return Outcome(False, f"HTTP {response.status}", transient=response.status >= 500)
    try:
        value = xmlrpc.parse_response(response.body)
    except Fault as f:
        if f.faultCode == FAULT_ALREADY_REGISTERED:
            return Outcome(True, "already registered")
        return Outcome(False, f"fault {f.faultCode}: {str(f.faultString)[:200]}")
    except xmlrpc.XmlRpcError as exc:
        return Outcome(False, f"bad response: {exc.message}")
    return Outcome(True, str(value)[:200] or "ok")


def send_trackback(endpoint: str, *, url: str, title: str, excerpt: str, blog_name: str) -> Outcome:
    """POST a TrackBack ping (UTF-8, declared) and read the <error> element of the answer.

    Receivers treat title, excerpt and blog_name as HTML (WordPress filters them
    as markup), so they are sent as HTML text: ``fish & chips <for> everyone``
    arrives as typed instead of losing ``<for>`` and everything after a ``<``."""
    fields = {"title": title, "url": url, "excerpt": excerpt, "blog_name": blog_name}
    fields.update({k: html.escape(v, quote=False) for k, v in fields.items() if k != "url"})
    body = urlencode(fields).encode()
    response = _post(endpoint, body, "application/x-www-form-urlencoded; charset=utf-8")
    if response.status >= 300:
        return Outcome(False, f"HTTP {response.status}", transient=response.status >= 500)
    try:
        root = safe_xml(response.body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return Outcome(False, "the answer was not TrackBack XML")
    error = (root.findtext("error") or "").strip()
    if error == "0":
        return Outcome(True, "accepted")
    return Outcome(False, f"refused: {(root.findtext('message') or 'no message').strip()[:200]}")


@jobs.handler(SEND_JOB)
def send_pings(payload: dict, attempt: int) -> str:
    """Notify one page our article cites: Webmention, else Pingback, else TrackBack."""
    ping = db.session.get(OutboundPing, payload.get("ping_id"))
    if ping is None:
        return "skipped: the ping record is gone"
    article = db.session.get(Article, ping.article_id)
    if article is None or not article.is_visible:
        ping.status, ping.detail = SKIPPED, "the article is not published"
        db.session.commit()
        return f"{SKIPPED}: {ping.detail}"
    ping_id, target = ping.id, ping.target_url
    source = absolute_url("news.article", slug=article.slug)
    title = article.title
    excerpt = (article.excerpt or html_excerpt(article.body_html, SEND_EXCERPT_MAX))[:SEND_EXCERPT_MAX]
    blog_name = current_app.config.get("SITE_NAME", "")
    db.session.commit()  # no transaction open during the network calls

    tries: list[str] = []
    protocol = endpoint = ""
    ok = transient = False
    try:
        endpoints = [("trackback", target)] if payload.get("explicit") else discover(target)
        for protocol, endpoint in endpoints:
            if protocol == "webmention":
                outcome = send_webmention(endpoint, source, target)
            elif protocol == "pingback":
                outcome = send_pingback(endpoint, source, target)
            else:
                outcome = send_trackback(endpoint, url=source, title=title, excerpt=excerpt, blog_name=blog_name)
            tries.append(f"{protocol}: {outcome.detail}")
            transient = transient or outcome.transient
            if outcome.ok:
                ok = True
                break
    except safe_fetch.FetchError as exc:
        tries.append(f"{protocol or 'fetch'}: {exc.message}")
        transient = exc.transient
    except jobs.RetryLater as exc:
        tries.append(str(exc))
        transient = True
    except jobs.JobFailed as exc:
        tries.append(str(exc))

    if ok:
        status = SENT
    elif not tries:
        status = NO_ENDPOINT
        tries.append("no Webmention, Pingback or TrackBack endpoint found")
    elif transient and attempt < jobs.MAX_ATTEMPTS:
        status = RETRYING
    else:
        status = FAILED
    ping = db.session.get(OutboundPing, ping_id)
    if ping is not None:
        ping.status = status
        ping.protocol = protocol or ping.protocol
        ping.endpoint = (endpoint or ping.endpoint)[:URL_MAX]
        ping.detail = f"attempt {attempt}: " + "; ".join(tries)
        db.session.commit()
    summary = f"{status}: " + "; ".join(tries)
    if status == RETRYING:
        raise jobs.RetryLater(summary)
    return summary
