"""The hot queries use indexes: no full scan of ``comments``, and per-article queries seek by article.

The statements are the ones the site really runs: each case calls the service
function and records its SQL, then asks the database for the plan
(``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (FORMAT JSON)`` on PostgreSQL).
PostgreSQL prefers sequential scans on small tables, so its plans are taken
with ``enable_seqscan`` off in the test's own transaction: the question is
whether a usable index exists and matches, not what the planner likes at 10k rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import event, select, text

from extensions import db
from models import Article, Category, Comment, CommentStatus
from services import articles as article_queries
from services import bench_data, comment_tree, discussion, page_cache

# Access paths that read only some rows of a table through an index (SQLite).
_SQLITE_SEARCH = re.compile(r"^SEARCH (?P<table>\w+)(?: AS \w+)? USING (?:COVERING )?(?:INDEX \w+|INTEGER PRIMARY KEY)")
_SQLITE_SCAN = re.compile(r"^SCAN (?P<table>\w+)\b(?P<rest>.*)$")
# An index seek keyed by the article, a thread's root or a row id: bounded by one article's discussion.
_PER_ARTICLE_KEY = re.compile(r"\b(article_id|root_id|parent_id|rowid|id)\s*[=>]")


@pytest.fixture
def site(app):
    """The benchmark's two fixed articles (200 and 10,000 approved comments) among 40."""
    with app.app_context():
        # Other articles hold most of the site's comments, as on a real site, so a plan that
        # is not keyed by article shows up.
        bench_data.build(comments=30_000, articles=40, echo=lambda _msg: None)
        mid = db.session.scalar(select(Article).where(Article.slug == bench_data.MID_SLUG))
        big = db.session.scalar(select(Article).where(Article.slug == bench_data.BIG_SLUG))
        pending_root = db.session.scalar(
            select(Comment.id)
            .where(Comment.article_id == mid.id, Comment.parent_id.is_(None), Comment.status == "pending")
            .limit(1)
        )
        ids = {"mid": mid.id, "mid_slug": mid.slug, "big": big.id, "pending_root": pending_root}
        db.session.remove()
    return ids


def _moderation_queue() -> None:
    db.session.scalars(
        select(Comment)
        .where(Comment.status == CommentStatus.PENDING.value)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(50)
    ).all()


# What each hot path runs; a call gets the ids from the `site` fixture.
HOT: dict[str, Callable[[dict], object]] = {
    "front page listing": lambda s: article_queries.front_page(1, 10),
    "category listing": lambda s: article_queries.in_category(db.session.get(Category, 1), 1, 10),
    "article by slug": lambda s: article_queries.get_visible(s["mid_slug"]),
    "thread page (10,000 comments)": lambda s: comment_tree.build_page(s["big"], 1, 50),
    "thread page with own pending": lambda s: comment_tree.build_page(
        s["mid"], 1, 50, own_pending_ids=frozenset({s["pending_root"]})
    ),
    "newest comment id": lambda s: discussion.newest_id(db.session.get(Article, s["big"])),
    "comment count refresh": lambda s: discussion.refresh_counts(s["big"]),
    "moderation queue": lambda s: _moderation_queue(),
    "linkbacks of an article": lambda s: discussion.linkbacks_for(db.session.get(Article, s["big"])),
    "comments feed": lambda s: discussion.feed_items(db.session.get(Article, s["mid"]), 20),
    "page cache key, listing": lambda s: page_cache.site_version(),
    "page cache key, article": lambda s: page_cache.article_version(s["mid_slug"]),
}


def _captured(app, call: Callable[[], object]) -> list[tuple[str, object]]:
    """The SQL statements ``call`` runs, with their parameters."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def _sqlite_problems(statement: str, plan: list[str]) -> Iterator[str]:
    per_article = "comments.article_id = " in statement
    for line in plan:
        scan = _SQLITE_SCAN.match(line)
        if scan and scan["table"] in ("comments", "articles") and "USING" not in scan["rest"]:
            yield f"full scan: {line}"
        search = _SQLITE_SEARCH.match(line)
        # The outer `comments` of a per-article query (subqueries alias it comments_1, …).
        if per_article and search and search["table"] == "comments" and not _PER_ARTICLE_KEY.search(line):
            yield f"not keyed by article: {line}"
    if not any(_SQLITE_SEARCH.match(line) for line in plan) and ("comments" in statement or "articles" in statement):
        yield "no index used: " + " / ".join(plan)


def _pg_nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from _pg_nodes(child)


def _pg_problems(statement: str, plan: dict) -> Iterator[str]:
    per_article = "comments.article_id = " in statement
    nodes = list(_pg_nodes(plan["Plan"]))
    scanned = [n for n in nodes if n.get("Relation Name") in ("comments", "articles")]
    for n in scanned:
        if n["Node Type"] == "Seq Scan":
            yield f"full scan of {n['Relation Name']}"
    index_conds = [
        n.get("Index Cond", "")
        for n in nodes
        if n["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Index Scan") and "comments" in str(n)
    ]
    if per_article and not any(_PER_ARTICLE_KEY.search(cond) for cond in index_conds):
        yield f"not keyed by article: {index_conds}"
    if scanned and not any("Index" in n["Node Type"] or n["Node Type"] == "Bitmap Heap Scan" for n in nodes):
        yield "no index used"


def _explain(statement: str, parameters) -> tuple[str, object]:
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("ANALYZE comments"))  # real statistics, as a live site has
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        row = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
        return "postgresql", (json.loads(row) if isinstance(row, str) else row)[0]
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
    return "sqlite", [r[-1] for r in rows]


@pytest.mark.parametrize("name", list(HOT))
def test_hot_query_uses_an_index(app, site, name):
    with app.app_context(), app.test_request_context():
        statements = _captured(app, lambda: HOT[name](site))
        relevant = [(s, p) for s, p in statements if re.search(r"\b(comments|articles)\b", s)]
        assert relevant, f"{name}: no statement on comments or articles was recorded"
        problems = []
        for statement, parameters in relevant:
            dialect, plan = _explain(statement, parameters)
            found = _pg_problems(statement, plan) if dialect == "postgresql" else _sqlite_problems(statement, plan)
            problems += [f"{p}\n    in: {' '.join(statement.split())[:160]}" for p in found]
        db.session.rollback()
    assert not problems, f"{name}:\n" + "\n".join(problems)
