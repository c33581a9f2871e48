"""The public moderation log at /moderation (off unless an admin turns it on).

In the manner of Lobsters' moderation log: readers can see which comments were
removed, when, by whom and why, but never who wrote them or what they said.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from services import audit
from services import settings as site_settings

bp = Blueprint("modlog", __name__)


@bp.get("/moderation")
def moderation_log():
    if not site_settings.load().public_moderation_log:
        abort(404)
    raw = request.args.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 12 else None
    lines, next_before = audit.public_removals(before=before, per_page=50)
    return render_template("admin/public/moderation_log.html", lines=lines, next_before=next_before)
