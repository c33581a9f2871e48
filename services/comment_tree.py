"""Build a page of nested threads from one ordered query.

A page is a slice of top-level threads; every comment of those threads is
loaded with one SELECT (``id IN roots OR root_id IN roots``) ordered by
``created_at, id`` and grouped by ``parent_id`` in a single pass.
Removed comments that still have visible replies stay as placeholders, so
the shape of the conversation survives moderation (as on Lobsters).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select, union_all
from sqlalchemy.orm import aliased

from extensions import db
from models import Comment, CommentKind, CommentStatus


@dataclass
class Node:
    comment: Comment
    children: list[Node] = field(default_factory=list)
    removed: bool = False  # shown as a placeholder: hidden, but has visible replies
    own_pending: bool = False  # the viewer's own comment awaiting moderation


@dataclass
class ThreadPage:
    nodes: list[Node]
    page: int
    pages: int
    total_threads: int
    first_number: int  # the number of the first thread on this page (1-based)


def _root_filter(article_id: int):
    """Top-level comments worth showing: approved, or removed with approved replies."""
    reply = aliased(Comment)
    has_visible_reply = exists().where(reply.root_id == Comment.id, reply.status == CommentStatus.APPROVED.value)
    return and_(
        Comment.article_id == article_id,
        Comment.kind == CommentKind.COMMENT.value,
        Comment.parent_id.is_(None),
        or_(Comment.status == CommentStatus.APPROVED.value, has_visible_reply),
    )


def build_page(
    article_id: int,
    page: int,
    per_page: int,
    newest_first: bool = False,
    own_pending_ids: frozenset[int] = frozenset(),
) -> ThreadPage:
    """One page of threads; ``page`` past the end is clamped to the last page."""
    total = db.session.scalar(select(func.count()).select_from(Comment).where(_root_filter(article_id))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    order = (Comment.created_at.desc(), Comment.id.desc()) if newest_first else (Comment.created_at, Comment.id)
    root_ids = list(
        db.session.scalars(
            select(Comment.id)
            .where(_root_filter(article_id))
            .order_by(*order)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    # The viewer's own pending top-level comments show on the last page (oldest-first) or first page.
    own_roots: list[int] = []
    if own_pending_ids and page == (1 if newest_first else pages):
        own_roots = list(
            db.session.scalars(
                select(Comment.id).where(
                    Comment.id.in_(own_pending_ids),
                    Comment.article_id == article_id,
                    Comment.parent_id.is_(None),
                    Comment.status == CommentStatus.PENDING.value,
                )
            )
        )
    wanted = root_ids + [r for r in own_roots if r not in root_ids]
    if not wanted:
        return ThreadPage([], page, pages, total, (page - 1) * per_page + 1)

    # Two index lookups (the roots by id, their replies by root_id) instead of one
    # OR that would walk every comment of the article.
    thread_ids = union_all(
        select(Comment.id).where(Comment.id.in_(wanted)),
        select(Comment.id).where(Comment.root_id.in_(wanted)),
    ).subquery()
    rows = db.session.scalars(
        select(Comment)
        .where(Comment.id.in_(select(thread_ids.c.id)), Comment.kind == CommentKind.COMMENT.value)
        .order_by(Comment.created_at, Comment.id)
    ).all()

    nodes: dict[int, Node] = {}
    for c in rows:
        visible = c.status == CommentStatus.APPROVED.value
        own = c.id in own_pending_ids and c.status == CommentStatus.PENDING.value
        if visible or own:
            nodes[c.id] = Node(c, own_pending=own)
    # Hidden ancestors of visible comments become placeholders.
    by_id = {c.id: c for c in rows}
    for c in rows:
        if c.id not in nodes:
            continue
        parent_id = c.parent_id
        while parent_id is not None and parent_id not in nodes and parent_id in by_id:
            nodes[parent_id] = Node(by_id[parent_id], removed=True)
            parent_id = by_id[parent_id].parent_id

    tops: dict[int, Node] = {}
    for c in rows:  # rows are in created order, so children stay in order
        node = nodes.get(c.id)
        if node is None:
            continue
        if c.parent_id is None:
            tops[c.id] = node
        elif c.parent_id in nodes:
            nodes[c.parent_id].children.append(node)
    ordered = [tops[r] for r in wanted if r in tops]
    return ThreadPage(ordered, page, pages, total, (page - 1) * per_page + 1)
