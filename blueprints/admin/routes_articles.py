"""Articles: the list, the editor (with a live Markdown preview) and the lead image."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from blueprints.admin import bp
from blueprints.admin.access import editor_required
from blueprints.admin.forms import ArticleForm, options
from extensions import db
from models import Article, ArticleStatus, Category
from services import articles_admin, uploads
from services.pagination import page_arg


@bp.get("/articles")
@editor_required
def articles():
    q = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status") or ""
    page = articles_admin.listing(q=q, status=status, page=page_arg())
    return render_template("admin/articles.html", page=page, q=q, status=status, counts=articles_admin.status_counts())


def _form_for(article: Article | None) -> ArticleForm:
    form = ArticleForm()
    form.categories.choices = options(
        *((c.id, c.name) for c in db.session.scalars(select(Category).order_by(Category.name)))
    )
    if request.method == "GET" and article is not None:
        form.title.data = article.title
        form.slug.data = article.slug
        form.excerpt.data = article.excerpt
        form.body_md.data = article.body_md
        form.byline.data = article.byline
        # A scheduled article whose time has come is live: show it as published.
        live = article.status == ArticleStatus.SCHEDULED.value and article.is_visible
        form.status.data = ArticleStatus.PUBLISHED.value if live else article.status
        form.publish_at.data = article.published_at
        form.comments_open.data = article.comments_open
        form.pings_open.data = article.pings_open
        form.ping_urls.data = article.ping_urls
        form.categories.data = [c.id for c in article.categories]
        form.tags.data = ", ".join(t.name for t in article.tags)
        form.lead_image_caption.data = article.lead_image_caption
        form.lead_image_alt.data = article.lead_image_alt
    return form


def _input(form: ArticleForm, image: str | None) -> articles_admin.ArticleInput:
    return articles_admin.ArticleInput(
        title=form.title.data or "",
        slug=form.slug.data or "",
        excerpt=form.excerpt.data or "",
        body_md=form.body_md.data or "",
        byline=form.byline.data or "",
        status=form.status.data or ArticleStatus.DRAFT.value,
        publish_at=form.publish_at.data,
        comments_open=bool(form.comments_open.data),
        pings_open=bool(form.pings_open.data),
        ping_urls=form.ping_urls.data or "",
        category_ids=[int(i) for i in (form.categories.data or [])],
        new_categories=form.new_categories.data or "",
        tags=form.tags.data or "",
        lead_image=image,
        remove_image=bool(form.remove_image.data),
        lead_image_caption=form.lead_image_caption.data or "",
        lead_image_alt=form.lead_image_alt.data or "",
    )


def _uploaded_file(form: ArticleForm):
    file = form.lead_image.data
    if file is None or not getattr(file, "filename", None):
        return None
    return file


def _render(form: ArticleForm, article: Article | None, errors: dict[str, str], status: int = 200):
    html = articles_admin.preview(form.body_md.data or "")
    return render_template(
        "admin/article_form.html",
        form=form,
        article=article,
        errors=errors,
        html=html,
        upload_limit=uploads.human_size(uploads.max_bytes()),
    ), status


def _editor(article: Article | None):
    form = _form_for(article)
    if request.method == "GET":
        return _render(form, article, {})

    errors: dict[str, str] = {}
    status = 422
    if not form.validate():
        errors = {name: msgs[0] for name, msgs in form.errors.items() if msgs}
        if "publish_at" in errors:
            errors["publish_at"] = "Enter a date and time, like 2025-06-01 09:30."
    file = _uploaded_file(form)
    # "pending" stands for the new image while checking (it needs alt text too).
    data = _input(form, "pending" if file else None)
    if not errors:
        # Check the text first, so a wrong field never leaves an image file behind.
        errors = articles_admin.check(article, data)
    if not errors and file is not None:
        try:
            stored = uploads.save_image(file.stream, file.filename or "", file.mimetype or "")
        except uploads.UploadError as err:
            errors["lead_image"] = err.message
            status = err.status
        else:
            data.lead_image = stored.resized
    if errors:
        return _render(form, article, errors, status)

    try:
        saved = articles_admin.save(article, data, current_user)
    except articles_admin.ArticleError as err:
        db.session.rollback()
        if file is not None and data.lead_image:
            uploads.remove(data.lead_image)
        return _render(form, article, err.errors, err.status)
    flash(_saved_message(saved), "success")
    return redirect(url_for("admin.article_edit", article_id=saved.article.id), code=303)


def _saved_message(saved: articles_admin.Saved) -> str:
    a = saved.article
    if a.status == ArticleStatus.PUBLISHED.value:
        return f"“{a.title}” is published." if "article.publish" in saved.events else f"“{a.title}” is updated."
    if a.status == ArticleStatus.SCHEDULED.value:
        return f"“{a.title}” is scheduled for {a.published_at:%d %B %Y at %H:%M} UTC."
    return f"Draft “{a.title}” saved."


@bp.route("/articles/new", methods=["GET", "POST"])
@editor_required
def article_new():
    return _editor(None)


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
@editor_required
def article_edit(article_id: int):
    article = db.session.get(Article, article_id)
    if article is None:
        abort(404, description="That article does not exist (any more).")
    return _editor(article)


@bp.post("/articles/preview")
@editor_required
def article_preview():
    """The Markdown body rendered exactly as readers will see it (htmx, as the editor types)."""
    html = articles_admin.preview(request.form.get("body_md", ""))
    return render_template("admin/_preview.html", html=html)
