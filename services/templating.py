"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, request, url_for

from models import utcnow


def relative_time(when: datetime, now: datetime | None = None) -> str:
    """'just now', '5 minutes ago', '3 days ago', then the date."""
    now = now or utcnow()
    seconds = int((now - when).total_seconds())
    if seconds < 45:
        return "just now"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{max(minutes, 1)} minute{'s' if minutes != 1 else ''} ago"
    if hours < 24:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    if days < 30:
        return f"{days} day{'s' if days != 1 else ''} ago"
    return long_date(when)


def long_date(when: datetime) -> str:
    """'October 5, 2014', the way news sites date their stories."""
    return f"{when:%B} {when.day}, {when.year}"


def long_datetime(when: datetime) -> str:
    return f"{long_date(when)} at {when:%H:%M} UTC"


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc822(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S +0000")


@lru_cache(maxsize=64)
def _file_hash(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def asset(filename: str) -> str:
    """URL of a static file with a content fingerprint, so it can be cached for a year."""
    path = Path(current_app.static_folder or "static") / filename
    try:
        version = _file_hash(str(path), path.stat().st_mtime)
    except OSError:
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=version)


def site_url() -> str:
    """The canonical base URL: SITE_URL when set, else the request's own."""
    return current_app.config.get("SITE_URL") or request.url_root.rstrip("/")


def absolute_url(endpoint: str, **values) -> str:
    return site_url() + url_for(endpoint, **values)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def init_app(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters.update(
        relative_time=relative_time,
        long_date=long_date,
        long_datetime=long_datetime,
        iso=iso,
        rfc822=rfc822,
        plural=plural,
    )
    app.jinja_env.globals.update(asset=asset, absolute_url=absolute_url, site_url=site_url)

    @app.context_processor
    def _site():
        return {"site_name": app.config["SITE_NAME"], "site_tagline": app.config["SITE_TAGLINE"]}
