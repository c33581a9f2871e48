"""Create articles, comments and users directly in the database for tests."""

from __future__ import annotations

from datetime import timedelta

from extensions import db
from models import Article, ArticleStatus, Category, Comment, CommentKind, CommentStatus, Tag, User, utcnow
from services.discussion import refresh_counts
from services.sanitize import clean_comment, render_markdown
from services.slugs import slugify


class Factory:
    def __init__(self, app):
        self.app = app
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def article(self, title=None, status="published", days_ago=1, categories=(), tags=(), **kw) -> Article:
        with self.app.app_context():
            n = self._next()
            title = title or f"Test story number {n}"
            published = None if status == ArticleStatus.DRAFT.value else utcnow() - timedelta(days=days_ago)
            body = kw.pop("body_md", f"Paragraph one of story {n}.\n\nParagraph two.")
            a = Article(
                title=title,
                slug=kw.pop("slug", slugify(title)),
                byline=kw.pop("byline", "Test Reporter"),
                excerpt=kw.pop("excerpt", f"Excerpt of story {n}."),
                body_md=body,
                body_html=render_markdown(body),
                status=status,
                published_at=kw.pop("published_at", published),
                **kw,
            )
            a.categories = [self._named(Category, c) for c in categories]
            a.tags = [self._named(Tag, t) for t in tags]
            db.session.add(a)
            db.session.commit()
            db.session.refresh(a)
            db.session.expunge(a)
            return a

    def _named(self, model, name):
        obj = db.session.query(model).filter_by(slug=slugify(name)).one_or_none()
        if obj is None:
            obj = model(name=name, slug=slugify(name))
            db.session.add(obj)
            db.session.flush()
        return obj

    def comment(
        self,
        article,
        body="A comment.",
        name="Reader",
        parent=None,
        status="approved",
        kind="comment",
        minutes_ago=60,
        **kw,
    ) -> Comment:
        with self.app.app_context():
            parent_row = db.session.get(Comment, parent.id) if parent is not None else None
            when = utcnow() - timedelta(minutes=minutes_ago)
            c = Comment(
                article_id=article.id,
                parent_id=parent_row.id if parent_row else None,
                root_id=(parent_row.root_id or parent_row.id) if parent_row else None,
                depth=(parent_row.depth + 1) if parent_row else 0,
                kind=kind or CommentKind.COMMENT.value,
                status=status or CommentStatus.APPROVED.value,
                author_name=name,
                body_source=body,
                body_html=clean_comment(body),
                ip=kw.pop("ip", "198.51.100.7"),
                created_at=when,
                updated_at=when,
                **kw,
            )
            db.session.add(c)
            db.session.flush()
            refresh_counts(article.id)
            db.session.commit()
            db.session.refresh(c)
            db.session.expunge(c)
            return c

    def user(self, username="admin", password="correct horse battery", role="admin") -> User:
        with self.app.app_context():
            u = User(username=username, display_name=username.title(), role=role)
            u.set_password(password)
            db.session.add(u)
            db.session.commit()
            db.session.refresh(u)
            db.session.expunge(u)
            return u
