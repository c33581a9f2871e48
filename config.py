"""Configuration read from the environment (see CONTRACT §2)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def load_secret_key(instance_path: str) -> str:
    """Return SECRET_KEY from the environment, or one generated once into instance/.

    The generated key is kept so sessions and signed cookies survive restarts;
    instance/ is git-ignored, so it is never committed.
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: when two workers start at once, the first writer wins and the other reads it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


class Config:
    """Defaults for a real deployment; every value can be overridden by the environment."""

    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL: str | None = os.environ.get("REDIS_URL") or None
    SITE_URL: str | None = (os.environ.get("SITE_URL") or "").rstrip("/") or None
    SITE_NAME: str = os.environ.get("GAZETTE_SITE_NAME", "The Harbour Gazette")
    SITE_TAGLINE: str = os.environ.get("GAZETTE_SITE_TAGLINE", "News and conversation from Saltmarsh Bay")
    TRUSTED_PROXIES: int = int(os.environ.get("GAZETTE_TRUSTED_PROXIES", "0") or 0)
    ALLOW_PRIVATE_FETCH: bool = _flag("GAZETTE_ALLOW_PRIVATE_FETCH")

    # 1 MiB is far above any comment form or ping; larger bodies get 413.
    MAX_CONTENT_LENGTH: int = 1024 * 1024
    ARTICLES_PER_PAGE: int = 10
    FEED_ITEMS: int = 20

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 24 * 3600

    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
