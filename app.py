"""Gazette: a community news site. ``create_app()`` wires everything together."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, load_secret_key
from extensions import csrf, db, limiter, login_manager, migrate
from services import sqlite  # noqa: F401  (SQLite connection set-up)

BASE_DIR = Path(__file__).resolve().parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(BASE_DIR / "instance"), instance_relative_config=True)
    app.config.from_object(Config)
    # Any other setting from the environment, e.g. GAZETTE_CONFIG_RATELIMIT_ENABLED=false
    # (values are parsed as JSON). Used by load tests and benchmarks.
    app.config.from_prefixed_env("GAZETTE_CONFIG")
    if test_config:
        app.config.update(test_config)
    if (app.config.get("SITE_URL") or "").startswith("https://"):
        # A site served over HTTPS never sends its session or remember-me cookies in clear.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'gazette.db'}"
    app.config.setdefault("UPLOAD_DIR", str(Path(app.instance_path) / "uploads"))
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        # Shared limits across processes and hosts with Redis; in-process otherwise.
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"

    if app.config["TRUSTED_PROXIES"] > 0:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]

    @app.before_request
    def _keep_raw_form_body() -> None:
        # Cache a url-encoded body before CSRFProtect parses it, so views can still
        # check the raw bytes (invalid UTF-8, a TrackBack's declared charset).
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            request.get_data(cache=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    import models  # noqa: F401  (register the tables with the metadata)
    from blueprints import register_blueprints
    from cli import register_cli
    from services import errors, http_cache, page_cache, security, templating

    @login_manager.user_loader
    def _load_user(user_id: str):
        return db.session.get(models.User, int(user_id)) if user_id.isdigit() else None

    templating.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    http_cache.init_app(app)
    page_cache.init_app(app)
    register_blueprints(app)
    register_cli(app)
    return app


if __name__ == "__main__":  # pragma: no cover - `make run` uses flask/gunicorn
    create_app().run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
