"""The dashboard under /admin/: articles, comments, settings, users, the audit log.

Every view requires a signed-in, active staff member (see ``access``); views
for admins only say so with ``@admin_required``.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from blueprints.admin import (  # noqa: E402,F401
    access,
    routes_articles,
    routes_audit,
    routes_comments,
    routes_home,
    routes_settings,
    routes_taxonomy,
    routes_users,
)
