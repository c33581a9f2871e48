"""Error pages: styled HTML for people, fragments for htmx, never a traceback."""

from __future__ import annotations

from flask import Flask, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from extensions import db

MESSAGES = {
    400: ("Bad request", "Something in that request did not make sense to us."),
    403: ("Not allowed", "You do not have permission to do that."),
    404: ("Page not found", "We could not find that page. It may have moved, or never existed."),
    405: ("Method not allowed", "That address does not accept this kind of request."),
    413: ("Too large", "That was more than we accept in one request."),
    429: ("Slow down", "Too many requests from your address. Please wait a moment and try again."),
    500: ("Something went wrong", "An error on our side stopped this page. It has been logged."),
    503: ("Temporarily unavailable", "The site cannot reach its database right now. Please try again shortly."),
}


def wants_fragment() -> bool:
    """True when htmx asked for a piece of a page rather than a whole one."""
    if request.headers.get("HX-History-Restore-Request") == "true":
        return False
    if request.headers.get("HX-Request-Type") == "full":
        return False
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render_error(code: int, message: str | None = None):
    title, default = MESSAGES.get(code, MESSAGES[500])
    template = "errors/_error.html" if wants_fragment() else "errors/error.html"
    return render_template(template, code=code, title=title, message=message or default), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return render_error(exc.code or 500, getattr(exc, "gazette_message", None))

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        db.session.rollback()
        app.logger.error("database unavailable: %s", exc)
        body, code = render_error(503)
        return body, code, {"Retry-After": "30", "Cache-Control": "no-store"}

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(500)
