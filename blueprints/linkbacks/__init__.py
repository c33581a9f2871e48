"""Linkback endpoints for other sites: TrackBack, Pingback (XML-RPC) and Webmention.

Remote servers cannot hold a CSRF token, so this blueprint is exempt; each
endpoint answers only in its protocol's format (never an HTML error page).
"""

from flask import Blueprint

from extensions import csrf

bp = Blueprint("linkbacks", __name__)
csrf.exempt(bp)

from blueprints.linkbacks import routes  # noqa: E402,F401
