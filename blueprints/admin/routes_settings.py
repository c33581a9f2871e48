"""Discussion settings: the moderation policy, threads, flood and link rules, banned senders."""

from __future__ import annotations

from dataclasses import asdict, fields, replace

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from blueprints.admin import bp
from blueprints.admin.access import admin_required
from blueprints.admin.forms import SettingsForm
from extensions import db
from services import audit
from services import settings as site_settings


def _normalise_lines(text: str, lower: bool = False) -> str:
    lines = [line.strip().lower() if lower else line.strip() for line in (text or "").splitlines()]
    return "\n".join(dict.fromkeys(line for line in lines if line))


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    current = site_settings.load()
    form = SettingsForm(data=asdict(current))
    if not form.is_submitted():
        return render_template("admin/settings.html", form=form)
    if not form.validate():
        return render_template("admin/settings.html", form=form, failed=True), 422

    names = {f.name for f in fields(current)}
    values = {name: getattr(form, name).data for name in names if hasattr(form, name)}
    for key in ("hold_words", "block_words"):
        values[key] = _normalise_lines(values[key])
    for key in ("banned_ips", "banned_emails"):
        values[key] = _normalise_lines(values[key], lower=True)
    if values.get("moderation") not in ("open", "first_time", "all"):
        values["moderation"] = current.moderation
    updated = replace(current, **values)
    changed = sorted(k for k in names if getattr(updated, k) != getattr(current, k))
    if changed:
        site_settings.save(updated)
        audit.record(
            "settings.update",
            "settings",
            None,
            user=current_user,
            detail={k: {"from": getattr(current, k), "to": getattr(updated, k)} for k in changed},
        )
        db.session.commit()
        # Read on every request (services/settings.py), so this applies from the next page view.
        flash("Settings saved. They apply from now on.", "success")
    else:
        flash("Nothing changed.", "info")
    return redirect(url_for("admin.settings"), code=303)
