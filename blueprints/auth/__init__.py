"""Signing in to the dashboard: /admin/login and /admin/logout."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/admin")

from blueprints.auth import routes  # noqa: E402,F401
