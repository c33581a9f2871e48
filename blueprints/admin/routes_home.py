"""The dashboard's home: what needs attention, and how busy the discussion is."""

from __future__ import annotations

from flask import render_template

from blueprints.admin import bp
from blueprints.admin.access import editor_required
from services import stats


@bp.get("/")
@editor_required
def home():
    return render_template("admin/home.html", dash=stats.dashboard())
