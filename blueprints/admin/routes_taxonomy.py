"""Categories and tags: small screens to add, rename and delete them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from blueprints.admin import bp
from blueprints.admin.access import editor_required
from blueprints.admin.forms import TermForm
from extensions import db
from models import Category, Tag
from services import articles_admin


@dataclass(frozen=True)
class Taxonomy:
    model: type
    key: str  # URL and endpoint part: "categories" / "tags"
    singular: str
    title: str

    @property
    def list_endpoint(self) -> str:
        return f"admin.{self.key}"


CATEGORIES = Taxonomy(Category, "categories", "category", "Categories")
TAGS = Taxonomy(Tag, "tags", "tag", "Tags")


def _term_or_404(tax: Taxonomy, term_id: int):
    term = db.session.get(tax.model, term_id)
    if term is None:
        abort(404, description=f"That {tax.singular} does not exist (any more).")
    return term


def _listing(tax: Taxonomy, form: TermForm | None = None, errors: dict | None = None, status: int = 200):
    terms = list(db.session.scalars(select(tax.model).order_by(tax.model.name)))
    return (
        render_template(
            "admin/terms.html",
            tax=tax,
            terms=terms,
            usage=articles_admin.term_usage(tax.model),
            form=form or TermForm(formdata=None),
            errors=errors or {},
        ),
        status,
    )


def _create(tax: Taxonomy):
    form = TermForm()
    if not form.validate():
        return _listing(tax, form, {k: v[0] for k, v in form.errors.items()}, 422)
    try:
        term = articles_admin.save_term(
            tax.model,
            None,
            name=form.name.data or "",
            slug=form.slug.data or "",
            description=form.description.data or "",
            user=current_user,
        )
    except articles_admin.TermError as err:
        db.session.rollback()
        return _listing(tax, form, err.errors, 422)
    flash(f"Added the {tax.singular} “{term.name}”.", "success")
    return redirect(url_for(tax.list_endpoint), code=303)


def _edit(tax: Taxonomy, term_id: int):
    term = _term_or_404(tax, term_id)
    form = TermForm(obj=term)
    errors: dict[str, str] = {}
    if form.is_submitted():
        if form.validate():
            try:
                articles_admin.save_term(
                    tax.model,
                    term,
                    name=form.name.data or "",
                    slug=form.slug.data or "",
                    description=form.description.data or "",
                    user=current_user,
                )
            except articles_admin.TermError as err:
                db.session.rollback()
                errors = err.errors
            else:
                flash(f"Saved the {tax.singular} “{term.name}”.", "success")
                return redirect(url_for(tax.list_endpoint), code=303)
        else:
            errors = {k: v[0] for k, v in form.errors.items()}
    status = 422 if errors else 200
    return render_template("admin/term_form.html", tax=tax, term=term, form=form, errors=errors), status


def _delete(tax: Taxonomy, term_id: int):
    term = _term_or_404(tax, term_id)
    name = term.name
    articles_admin.delete_term(tax.model, term, user=current_user)
    flash(f"Deleted the {tax.singular} “{name}”. Its articles are unchanged.", "success")
    return redirect(url_for(tax.list_endpoint), code=303)


@bp.get("/categories")
@editor_required
def categories():
    return _listing(CATEGORIES)


@bp.post("/categories")
@editor_required
def category_create():
    return _create(CATEGORIES)


@bp.route("/categories/<int:term_id>/edit", methods=["GET", "POST"])
@editor_required
def category_edit(term_id: int):
    return _edit(CATEGORIES, term_id)


@bp.post("/categories/<int:term_id>/delete")
@editor_required
def category_delete(term_id: int):
    return _delete(CATEGORIES, term_id)


@bp.get("/tags")
@editor_required
def tags():
    return _listing(TAGS)


@bp.post("/tags")
@editor_required
def tag_create():
    return _create(TAGS)


@bp.route("/tags/<int:term_id>/edit", methods=["GET", "POST"])
@editor_required
def tag_edit(term_id: int):
    return _edit(TAGS, term_id)


@bp.post("/tags/<int:term_id>/delete")
@editor_required
def tag_delete(term_id: int):
    return _delete(TAGS, term_id)
