"""Dashboard accounts (admins only): add editors and admins, reset passwords, disable accounts.

The site must always keep one active admin: without one nobody could moderate,
change settings or add users again (short of the command line).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from blueprints.admin import bp
from blueprints.admin.access import admin_required, error_page
from blueprints.admin.forms import PasswordForm, RoleForm, UserForm
from blueprints.auth import sessions
from extensions import db
from models import Role, User
from services import audit

LAST_ADMIN = "{name} is the last active admin. Make another account an admin first."


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description="That account does not exist.")
    return user


def _other_active_admins(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id)
        )
        or 0
    )


def _users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.username)))


@bp.get("/users")
@admin_required
def users():
    return render_template("admin/users.html", users=_users(), form=UserForm(formdata=None), errors={})


@bp.post("/users")
@admin_required
def user_create():
    form = UserForm()
    errors = {k: v[0] for k, v in form.errors.items()} if not form.validate() else {}
    username = (form.username.data or "").strip()
    if not errors and db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        errors["username"] = f"There is already an account called “{username}”."
    if errors:
        return render_template("admin/users.html", users=_users(), form=form, errors=errors), 422
    user = User(
        username=username,
        display_name=(form.display_name.data or "").strip() or username,
        email=(form.email.data or "").strip().lower() or None,
        role=form.role.data,
        active=True,
    )
    user.set_password(form.password.data or "")
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, user=current_user, detail={"username": username, "role": user.role})
    db.session.commit()
    flash(f"Added {user.role} “{username}”. Give them their password in person or by phone.", "success")
    return redirect(url_for("admin.users"), code=303)


def _detail(user: User, status: int = 200, **forms):
    return (
        render_template(
            "admin/user.html",
            user=user,
            password_form=forms.get("password_form") or PasswordForm(formdata=None),
            role_form=forms.get("role_form") or RoleForm(formdata=None, role=user.role),
            errors=forms.get("errors") or {},
        ),
        status,
    )


@bp.get("/users/<int:user_id>")
@admin_required
def user_detail(user_id: int):
    return _detail(_user_or_404(user_id))


@bp.post("/users/<int:user_id>/password")
@admin_required
def user_password(user_id: int):
    user = _user_or_404(user_id)
    form = PasswordForm()
    if not form.validate():
        return _detail(user, 422, password_form=form, errors={k: v[0] for k, v in form.errors.items()})
    user.set_password(form.password.data or "")
    audit.record("user.password", "user", user.id, user=current_user, detail={"username": user.username})
    db.session.commit()
    response = redirect(url_for("admin.user_detail", user_id=user.id), code=303)
    if user.id == current_user.id:
        # Changing one's own password keeps this session (and ends every other one).
        sessions.start(user, response, remember=bool(request.cookies.get(sessions.COOKIE)))
        flash("Your password is changed. Other sessions of yours have ended.", "success")
    else:
        flash(f"The password of “{user.username}” is changed; their open sessions have ended.", "success")
    return response


@bp.post("/users/<int:user_id>/role")
@admin_required
def user_role(user_id: int):
    user = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate():
        return _detail(user, 422, role_form=form, errors={"role": "Choose Editor or Admin."})
    new_role = form.role.data
    if new_role == user.role:
        flash("Nothing changed.", "info")
        return redirect(url_for("admin.user_detail", user_id=user.id), code=303)
    if user.role == Role.ADMIN.value and user.active and not _other_active_admins(user):
        return error_page(409, LAST_ADMIN.format(name=user.username))
    audit.record(
        "user.role",
        "user",
        user.id,
        user=current_user,
        detail={"username": user.username, "from": user.role, "to": new_role},
    )
    user.role = new_role
    db.session.commit()
    flash(f"“{user.username}” is now an {new_role}.", "success")
    if user.id == current_user.id and new_role != Role.ADMIN.value:
        return redirect(url_for("admin.home"), code=303)
    return redirect(url_for("admin.user_detail", user_id=user.id), code=303)


@bp.post("/users/<int:user_id>/active")
@admin_required
def user_active(user_id: int):
    user = _user_or_404(user_id)
    enable = request.form.get("active") == "1"
    if not enable:
        if user.id == current_user.id:
            return error_page(409, "You cannot disable your own account. Ask another admin.")
        if user.role == Role.ADMIN.value and user.active and not _other_active_admins(user):
            return error_page(409, LAST_ADMIN.format(name=user.username))
    if user.active == enable:
        flash("Nothing changed.", "info")
        return redirect(url_for("admin.user_detail", user_id=user.id), code=303)
    user.active = enable
    audit.record(
        "user.enable" if enable else "user.disable",
        "user",
        user.id,
        user=current_user,
        detail={"username": user.username},
    )
    db.session.commit()
    if enable:
        flash(f"“{user.username}” can sign in again.", "success")
    else:
        flash(f"“{user.username}” is disabled and signed out everywhere.", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id), code=303)
