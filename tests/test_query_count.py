"""An article page costs the same number of SQL statements whatever the size of its discussion."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from extensions import db
from models import Comment, CommentKind, CommentStatus, utcnow
from services.discussion import refresh_counts


def _discussion(article_id: int, threads: int, replies_per_thread: int) -> None:
    """Top-level comments, each with a chain and a fan of replies (depth 1..3), plus one trackback."""
    start = utcnow() - timedelta(days=1)
    n = 0

    def add(parent: Comment | None) -> Comment:
        nonlocal n
        n += 1
        when = start + timedelta(seconds=n)
        c = Comment(
            article_id=article_id,
            parent_id=parent.id if parent else None,
            root_id=(parent.root_id or parent.id) if parent else None,
            depth=parent.depth + 1 if parent else 0,
            kind=CommentKind.COMMENT.value,
            status=CommentStatus.APPROVED.value,
            author_name=f"Reader {n}",
            author_url="https://example.net/" if n % 4 == 0 else "",
            body_source=f"Comment number {n}.",
            body_html=f"<p>Comment number {n}.</p>",
            ip="198.51.100.7",
            created_at=when,
            updated_at=when,
        )
        db.session.add(c)
        db.session.flush()
        return c

    for _ in range(threads):
        root = add(None)
        parent = root
        for i in range(replies_per_thread):
            # Every other reply goes one level deeper (up to 3), the rest answer the thread's root.
            parent = add(parent if i % 2 == 0 and parent.depth < 3 else root)
    db.session.add(
        Comment(
            article_id=article_id,
            kind=CommentKind.TRACKBACK.value,
            status=CommentStatus.APPROVED.value,
            author_name="A blog",
            source_url="https://blog.example.org/post",
            title="A post",
            body_html="<p>An excerpt.</p>",
        )
    )
    refresh_counts(article_id)
    db.session.commit()


def _statements(app, client, url: str) -> int:
    client.get(url)  # warm up: compiled-statement caches, settings, templates
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen)


def test_article_page_query_count_does_not_grow_with_comments(app, client, factory):
    small = factory.article("Five comments", tags=["Harbour"], categories=["News"])
    large = factory.article("Five hundred comments", tags=["Harbour"], categories=["News"])
    with app.app_context():
        _discussion(small.id, threads=1, replies_per_thread=4)  # 5 comments
        _discussion(large.id, threads=50, replies_per_thread=9)  # 500 comments, one full page of threads
    small_html = client.get(f"/article/{small.slug}").get_data(as_text=True)
    large_html = client.get(f"/article/{large.slug}").get_data(as_text=True)
    assert small_html.count('class="comment ') == 5
    assert large_html.count('class="comment ') == 500

    small_count = _statements(app, client, f"/article/{small.slug}")
    large_count = _statements(app, client, f"/article/{large.slug}")
    assert small_count == large_count, f"{small_count} statements for 5 comments, {large_count} for 500"


def test_front_page_query_count_does_not_grow_with_articles(app, client, factory):
    factory.article("The only story", tags=["Harbour"], categories=["News"])
    one = _statements(app, client, "/")
    for i in range(12):
        factory.article(f"Story {i}", tags=["Harbour", f"Tag {i}"], categories=["News", f"Section {i % 3}"])
    assert _statements(app, client, "/") == one
