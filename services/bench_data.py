"""Benchmark data: a realistic site of any size, built fast with bulk Core inserts.

``flask --app app bench-data --comments N`` fills an *empty* database (the one
``DATABASE_URL`` points at) with articles, categories, tags and ``N`` rows of
``comments``: threaded reader comments (``parent_id``/``root_id``/``depth``
consistent, replies never deeper than the site's cap), mixed statuses, removed
comments kept as placeholders, and some linkbacks, spread over many articles.

Two articles always have fixed sizes, so benchmark URLs are stable:

* ``bench-200-comments`` — exactly 200 approved comments in threads;
* ``bench-10000-comments`` — exactly 10,000 approved comments in threads.

Ids are assigned here (the database must be empty), so a reply's parent is
known without a round trip and every batch is one ``executemany``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import Flask
from sqlalchemy import Connection, func, insert, select, text, update

from extensions import db
from models import (
    LINKBACK_KINDS,
    Article,
    ArticleStatus,
    Category,
    Comment,
    CommentKind,
    CommentStatus,
    Tag,
    User,
    article_categories,
    article_tags,
    utcnow,
)
from services.settings import DiscussionSettings

MID_SLUG = "bench-200-comments"
BIG_SLUG = "bench-10000-comments"
MID_COMMENTS = 200
BIG_COMMENTS = 10_000
# Rows per executemany: big enough to amortise the round trip, small enough
# that a batch of dicts stays a few tens of MB.
BATCH = 20_000
# The share of approved comments that start a new thread rather than reply:
# 1 in 4 gives ~50 threads for 200 comments, one page at the default 50 per page.
NEW_THREAD = 0.25
# A reply answers one of the most recent comments, as conversations do.
REPLY_WINDOW = 40
# ~1 in 100 approved comments is later removed; those with replies stay as placeholders.
REMOVED_SHARE = 0.01
NON_APPROVED_SHARE = 0.06
LINKBACK_SHARE = 0.02
# Reply depth never reaches the site's cap (WordPress's default of 5 levels).
MAX_DEPTH = DiscussionSettings().max_depth

CATEGORY_NAMES = ["News", "Community", "Environment", "Sport", "Business", "Culture", "Opinion", "Weather"]
WORDS = [
    "harbour",
    "council",
    "reef",
    "ferry",
    "market",
    "school",
    "regatta",
    "storm",
    "beach",
    "island",
    "fishermen",
    "road",
    "bridge",
    "festival",
    "library",
    "clinic",
    "church",
    "budget",
    "tourism",
    "weather",
    "wall",
    "moorings",
    "cricket",
    "football",
    "sailing",
    "choir",
    "bakery",
    "tide",
    "lighthouse",
    "ridge",
    "village",
    "airport",
    "election",
    "trust",
    "museum",
    "garden",
    "parade",
    "volunteers",
    "turtles",
]
SENTENCES = [
    "I walked past the harbour this morning and the crews were already setting up.",
    "This has been discussed at every council meeting for the last three years.",
    "Good to see the school getting involved, the children did a brilliant job.",
    "Does anyone know whether the ferry timetable changes over the holidays?",
    "My grandfather used to say the reef was twice the size when he was young.",
    "The market was busier than I have seen it in a long time, well done to the organisers.",
    "I think the cost is too high for what we are getting, to be honest.",
    "Thanks for the clear write-up, it answers most of the questions people had.",
    "We should have a proper public meeting before anything is decided.",
    "The road past the clinic still floods every time it rains heavily.",
    "Volunteers are always welcome on Saturday mornings, bring gloves and water.",
    "I disagree, the old plan was better and cheaper in the long run.",
    "Lovely photographs, the light over the bay at that hour is something else.",
    "Who is paying for the maintenance once the contractor has gone home?",
    "The turtles came back to the north beach this year, which is wonderful news.",
    "Same thing happened in the nineties and nobody learned anything from it.",
]
USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
]
NAMES = [
    "Marguerite",
    "Captain Reggie",
    "Island Mum",
    "Desmond W.",
    "Turtle Watcher",
    "Old Salt",
    "Priya",
    "Kwame",
    "Ana Lucia",
    "Tomasz",
    "Harbour Watch",
    "Coach Ebanks",
]


@dataclass
class _Plan:
    """How many rows of each kind one article's discussion gets."""

    article_id: int
    approved: int
    others: int
    linkbacks: int
    start: datetime
    end: datetime


@dataclass
class _Open:
    """An approved comment that later ones may reply to."""

    id: int
    depth: int
    root: int | None
    index: int  # position of its row in the article's row list


def _sentence_text(rng: random.Random) -> str:
    return " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 3)))


def _comment_row(
    rng: random.Random, cid: int, article_id: int, when: datetime, status: str, parent: _Open | None
) -> dict:
    body = _sentence_text(rng)
    name = rng.choice(NAMES)
    return {
        "id": cid,
        "article_id": article_id,
        "parent_id": parent.id if parent else None,
        "root_id": (parent.root or parent.id) if parent else None,
        "depth": parent.depth + 1 if parent else 0,
        "kind": CommentKind.COMMENT.value,
        "status": status,
        "author_name": name,
        "author_email": f"{name.split()[0].lower()}{cid % 97}@example.net" if cid % 3 else "",
        "author_url": f"https://example.net/~reader{cid % 500}" if cid % 5 == 0 else "",
        "user_id": None,
        # Fixed sentences with no markup: already safe HTML, so bleach is not needed for a million rows.
        "body_source": body,
        "body_html": f"<p>{body}</p>",
        "source_url": None,
        "title": "",
        "ip": f"198.51.100.{cid % 250 + 1}",
        "user_agent": USER_AGENTS[cid % len(USER_AGENTS)],
        "report_count": 0,
        "created_at": when,
        "updated_at": when,
    }


def _linkback_row(rng: random.Random, cid: int, article_id: int, when: datetime) -> dict:
    kind = LINKBACK_KINDS[cid % len(LINKBACK_KINDS)]
    site = f"blog{cid % 300}.example.org"
    excerpt = _sentence_text(rng)
    return {
        "id": cid,
        "article_id": article_id,
        "parent_id": None,
        "root_id": None,
        "depth": 0,
        "kind": kind,
        "status": CommentStatus.APPROVED.value if rng.random() < 0.85 else CommentStatus.PENDING.value,
        "author_name": site,
        "author_email": "",
        "author_url": f"https://{site}/",
        "user_id": None,
        "body_source": excerpt,
        "body_html": f"<p>{excerpt}</p>",
        "source_url": f"https://{site}/posts/{cid}",
        "title": f"Thoughts on the {rng.choice(WORDS)} story",
        "ip": f"203.0.113.{cid % 250 + 1}",
        "user_agent": "Gazette-Linkback/1.0",
        "report_count": 0,
        "created_at": when,
        "updated_at": when,
    }


def _discussion(rng: random.Random, plan: _Plan, first_id: int) -> list[dict]:
    """One article's rows in created order: threads, hidden comments, linkbacks.

    Exactly ``plan.approved`` reader comments end up approved: a few extra are
    generated and then removed (preferring ones with replies, which the page
    shows as "This comment was removed" placeholders).
    """
    removed = int(plan.approved * REMOVED_SHARE)
    events = ["a"] * (plan.approved + removed) + ["o"] * plan.others + ["l"] * plan.linkbacks
    rng.shuffle(events)
    n = len(events)
    span = (plan.end - plan.start).total_seconds()
    offsets = sorted(rng.random() * span for _ in range(n))
    rows: list[dict] = []
    recent: list[_Open] = []
    by_id: dict[int, _Open] = {}
    has_reply: set[int] = set()  # row indexes of approved comments with replies
    approved_rows: list[int] = []
    cid = first_id
    for kind, offset in zip(events, offsets, strict=True):
        when = plan.start + timedelta(seconds=offset)
        if kind == "l":
            rows.append(_linkback_row(rng, cid, plan.article_id, when))
        else:
            parent = None
            if recent and rng.random() >= NEW_THREAD:
                parent = rng.choice(recent[-REPLY_WINDOW:])
                # At the cap a reply goes beside its parent, as services.discussion does.
                if parent.depth >= MAX_DEPTH - 1:
                    parent = by_id[rows[parent.index]["parent_id"]]
                has_reply.add(parent.index)
            if kind == "a":
                row = _comment_row(rng, cid, plan.article_id, when, CommentStatus.APPROVED.value, parent)
                by_id[cid] = _Open(cid, row["depth"], row["root_id"], len(rows))
                recent.append(by_id[cid])
                if len(recent) > 4 * REPLY_WINDOW:
                    del recent[: 2 * REPLY_WINDOW]
                approved_rows.append(len(rows))
            else:
                status = rng.choices(
                    [CommentStatus.PENDING.value, CommentStatus.SPAM.value, CommentStatus.TRASH.value], [6, 3, 1]
                )[0]
                row = _comment_row(rng, cid, plan.article_id, when, status, parent)
            rows.append(row)
        cid += 1
    # Remove some approved comments, those with replies first.
    candidates = [i for i in approved_rows if i in has_reply] + [i for i in approved_rows if i not in has_reply]
    for i in candidates[:removed]:
        rows[i]["status"] = CommentStatus.TRASH.value
    return rows


def _plans(
    rng: random.Random, comments: int, article_ids: list[int], published: dict[int, datetime], now: datetime
) -> Iterator[_Plan]:
    """Split ``comments`` rows over the articles: two fixed ones, the rest log-normally (a few busy stories)."""

    def window(aid: int) -> tuple[datetime, datetime]:
        start = published[aid] + timedelta(minutes=5)
        end = min(now - timedelta(minutes=1), published[aid] + timedelta(days=30))
        return start, max(end, start + timedelta(minutes=1))

    mid, big, rest = article_ids[0], article_ids[1], article_ids[2:]
    used = 0
    for aid, approved in ((mid, MID_COMMENTS), (big, BIG_COMMENTS)):
        others = math.ceil(approved * NON_APPROVED_SHARE)
        links = max(3, int(approved * LINKBACK_SHARE))
        used += approved + int(approved * REMOVED_SHARE) + others + links
        yield _Plan(aid, approved, others, links, *window(aid))
    remaining = max(0, comments - used)
    weights = [rng.lognormvariate(0, 1) for _ in rest]
    total_weight = sum(weights) or 1.0
    shares = [int(remaining * w / total_weight) for w in weights]
    if shares:
        shares[0] += remaining - sum(shares)
    for aid, rows in zip(rest, shares, strict=True):
        links = int(rows * LINKBACK_SHARE)
        others = int(rows * NON_APPROVED_SHARE)
        # Rows = approved * (1 + REMOVED_SHARE) + others + links, solved for approved.
        approved = max(0, int((rows - links - others) / (1 + REMOVED_SHARE)))
        others = max(0, rows - links - approved - int(approved * REMOVED_SHARE))
        yield _Plan(aid, approved, others, links, *window(aid))


def _article_rows(rng: random.Random, count: int, now: datetime, author_id: int) -> list[dict]:
    """Published articles, newest last; the two fixed benchmark articles are the newest."""
    rows = []
    for i in range(count):
        aid = i + 1
        if aid == 1:
            title, slug, published = "Two hundred comments: the regatta debate", MID_SLUG, now - timedelta(days=1)
        elif aid == 2:
            title, slug, published = (
                "Ten thousand comments: the harbour wall vote",
                BIG_SLUG,
                now - timedelta(days=2),
            )
        else:
            topic = rng.choice(WORDS)
            title = f"The {topic} story, part {aid}"
            slug = f"bench-article-{aid}"
            published = now - timedelta(days=3 + rng.random() * 727)
        paragraphs = [" ".join(rng.choice(SENTENCES) for _ in range(4)) for _ in range(6)]
        body_md = "\n\n".join(paragraphs)
        rows.append(
            {
                "id": aid,
                "title": title,
                "slug": slug,
                "author_id": author_id,
                "byline": "",
                "excerpt": paragraphs[0][:180],
                "body_md": body_md,
                "body_html": "".join(f"<p>{p}</p>\n" for p in paragraphs),
                "lead_image": None,
                "lead_image_caption": "",
                "lead_image_alt": "",
                "status": ArticleStatus.PUBLISHED.value,
                "published_at": published,
                "created_at": published,
                "updated_at": published,
                "comments_open": True,
                "pings_open": True,
                "comment_count": 0,
                "linkback_count": 0,
                "ping_urls": "",
            }
        )
    return rows


def _speed_up_sqlite(conn: Connection) -> None:
    """Bulk-load settings for this connection only: a crash mid-build just means building again."""
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    raw.execute("PRAGMA synchronous=OFF")
    # 512 MB of page cache keeps the comment indexes in memory while they grow.
    raw.execute("PRAGMA cache_size=-524288")


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: explicit ids do not move the id sequences; move them past the rows."""
    if conn.dialect.name != "postgresql":
        return
    for table in ("users", "categories", "tags", "articles", "comments"):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed table names
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
        )


def refresh_all_counts(conn: Connection) -> None:
    """Every article's approved comment and linkback counts in one UPDATE (index-only counts)."""
    approved = (Comment.article_id == Article.id) & (Comment.status == CommentStatus.APPROVED.value)
    comments = select(func.count()).where(approved, Comment.kind == CommentKind.COMMENT.value).scalar_subquery()
    links = select(func.count()).where(approved, Comment.kind.in_(LINKBACK_KINDS)).scalar_subquery()
    conn.execute(update(Article).values(comment_count=comments, linkback_count=links))


def build(comments: int, articles: int | None = None, seed: int = 7, echo=print) -> dict:
    """Fill the (empty) database; returns what was built. Needs an app context."""
    rng = random.Random(seed)
    articles = articles or max(30, comments // 500)
    now = utcnow().replace(microsecond=0)
    started = time.monotonic()
    with db.engine.connect() as conn:
        _speed_up_sqlite(conn)
        with conn.begin():
            if conn.scalar(select(func.count()).select_from(Article)) or conn.scalar(
                select(func.count()).select_from(Comment)
            ):
                raise click.ClickException("bench-data needs an empty database (it assigns ids itself).")
            author_id = 1
            if conn.scalar(select(User.id).where(User.id == author_id)) is None:
                conn.execute(
                    insert(User),
                    [
                        {
                            "id": author_id,
                            "username": "bench-editor",
                            "display_name": "Bench Editor",
                            "password_hash": "!",  # no password can match: the account cannot sign in
                            "role": "editor",
                            "active": False,
                            "created_at": now,
                        }
                    ],
                )
            conn.execute(
                insert(Category),
                [
                    {"id": i + 1, "name": n, "slug": n.lower(), "description": f"{n} from the island."}
                    for i, n in enumerate(CATEGORY_NAMES)
                ],
            )
            conn.execute(insert(Tag), [{"id": i + 1, "name": w.title(), "slug": w} for i, w in enumerate(WORDS)])
            article_rows = _article_rows(rng, articles, now, author_id)
            conn.execute(insert(Article), article_rows)
            links_c, links_t = [], []
            for a in article_rows:
                cats = rng.sample(range(1, len(CATEGORY_NAMES) + 1), rng.randint(1, 2))
                # Half the stories are News, so one category page has many articles to page through.
                if a["id"] % 2 and 1 not in cats:
                    cats.append(1)
                links_c += [{"article_id": a["id"], "category_id": c} for c in cats]
                links_t += [{"article_id": a["id"], "tag_id": t} for t in rng.sample(range(1, len(WORDS) + 1), 3)]
            conn.execute(insert(article_categories), links_c)
            conn.execute(insert(article_tags), links_t)

            published = {a["id"]: a["published_at"] for a in article_rows}
            next_id, buffer, written = 1, [], 0
            for plan in _plans(rng, comments, [a["id"] for a in article_rows], published, now):
                rows = _discussion(rng, plan, next_id)
                next_id += len(rows)
                buffer.extend(rows)
                if len(buffer) >= BATCH:
                    conn.execute(insert(Comment), buffer)
                    written += len(buffer)
                    buffer = []
                    echo(f"  {written:,} comments…")
            if buffer:
                conn.execute(insert(Comment), buffer)
                written += len(buffer)
            refresh_all_counts(conn)
            _reset_sequences(conn)
        if conn.dialect.name == "postgresql":
            # Autovacuum would do this soon after a real bulk load; the planner needs the row counts.
            conn.execute(text("ANALYZE"))
            conn.commit()
    return {"articles": articles, "comments": written, "seconds": round(time.monotonic() - started, 1)}


def register(app: Flask) -> None:
    """Add ``flask --app app bench-data``."""

    @app.cli.command("bench-data")
    @click.option("--comments", type=click.IntRange(min=0), default=12_000, show_default=True, help="Rows of comments.")
    @click.option("--articles", type=click.IntRange(min=3), default=None, help="Default: max(30, comments / 500).")
    @click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same site.")
    def bench_data(comments: int, articles: int | None, seed: int) -> None:
        """Fill an empty database (DATABASE_URL) with a benchmark site: threads, statuses, linkbacks."""
        built = build(comments, articles, seed, echo=click.echo)
        click.echo(
            f"Built {built['articles']:,} articles and {built['comments']:,} comments in {built['seconds']} s "
            f"({MID_SLUG}: {MID_COMMENTS} approved, {BIG_SLUG}: {BIG_COMMENTS:,} approved)."
        )
