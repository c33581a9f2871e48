"""The audit log: every change made from the dashboard, newest first (admins only)."""

from __future__ import annotations

from flask import render_template, request

from blueprints.admin import bp
from blueprints.admin.access import admin_required
from services import audit

TYPES = {
    "comment": "Comments",
    "article": "Articles",
    "user": "Users",
    "settings": "Settings",
    "category": "Categories",
    "tag": "Tags",
}


@bp.get("/audit")
@admin_required
def audit_log():
    kind = request.args.get("type", "")
    raw = request.args.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 12 else None
    page = audit.entries(before=before, per_page=50, target_type=kind if kind in TYPES else None)
    return render_template(
        "admin/audit.html",
        page=page,
        kind=kind if kind in TYPES else "",
        types=TYPES,
        labels=audit.LABELS,
        detail_of=audit.detail_of,
    )
