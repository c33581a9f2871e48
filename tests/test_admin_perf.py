"""The moderation queue stays fast with 100,000 comments (keyset paging on the status index)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text

from extensions import db
from models import Comment, utcnow
from services import comment_admin
from tests import admin_helpers

auth = admin_helpers.auth
admin_client = admin_helpers.admin_client

TOTAL = 100_000


@pytest.fixture
def big_queue(app, factory):
    articles = [factory.article(f"Story {i}") for i in range(5)]
    start = utcnow() - timedelta(days=60)
    statuses = ("approved", "approved", "approved", "pending", "spam")
    rows = [
        {
            "article_id": articles[i % 5].id,
            "status": statuses[i % 5],
            "kind": "comment",
            "depth": 0,
            "author_name": f"Reader {i}",
            "author_email": f"reader{i}@example.org",
            "body_source": f"Comment number {i}",
            "body_html": f"<p>Comment number {i}</p>",
            "ip": f"198.51.{i % 250}.{i % 200}",
            "created_at": start + timedelta(seconds=i * 30),
            "updated_at": start + timedelta(seconds=i * 30),
            "report_count": 0,
        }
        for i in range(TOTAL)
    ]
    with app.app_context():
        for chunk in range(0, TOTAL, 20_000):
            db.session.execute(insert(Comment), rows[chunk : chunk + 20_000])
        db.session.commit()
    return app


@pytest.mark.slow
def test_queue_pages_stay_fast_with_100k_comments(big_queue, admin_client):
    app = big_queue
    with app.app_context():
        # A cursor halfway down the approved tab (60,000 rows), as if paged there.
        middle = db.session.scalar(
            select(Comment).where(Comment.status == "approved").order_by(Comment.created_at.desc()).offset(30_000)
        )
        cursor = comment_admin.encode_cursor(middle)
    timings = {}
    for label, url in {
        "first": "/admin/comments?status=approved",
        "deep": f"/admin/comments?status=approved&older={cursor}",
        "back": f"/admin/comments?status=approved&newer={cursor}",
        "pending": "/admin/comments",
    }.items():
        started = time.perf_counter()
        response = admin_client.get(url)
        timings[label] = time.perf_counter() - started
        assert response.status_code == 200
        assert response.get_data(as_text=True).count('class="qrow qrow--') == 20, label
    print("queue timings (s):", {k: round(v, 3) for k, v in timings.items()})
    assert max(timings.values()) < 1.0, timings
    counts = admin_client.get("/admin/comments").get_data(as_text=True)
    assert 'id="count-approved">60000<' in counts and 'id="count-pending">20000<' in counts
    with app.app_context():
        if db.engine.dialect.name == "sqlite":  # query plans differ by database
            stmt = (
                comment_admin._filtered(comment_admin.QueueFilter(tab="approved"))
                .order_by(Comment.created_at.desc(), Comment.id.desc())
                .limit(21)
            )
            compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "ix_comments_status_created" in plan and "TEMP B-TREE" not in plan, plan
