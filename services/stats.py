"""Figures for the dashboard's home page, and the geometry of its comments-per-day chart.

Every query is bounded by the ``(status, created_at, id)`` index (an ``IN`` on
status plus a range on ``created_at``), so the page stays quick with a large
comments table. Spam is not counted as conversation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Date, cast, func, select

from extensions import db
from models import LINKBACK_KINDS, Article, Comment, CommentKind, CommentStatus, utcnow

CONVERSATION = (CommentStatus.PENDING.value, CommentStatus.APPROVED.value, CommentStatus.TRASH.value)
CHART_DAYS = 30


@dataclass
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float

    @property
    def label(self) -> str:
        return f"{self.day:%a} {self.day.day} {self.day:%b}: {self.count} comment{'s' if self.count != 1 else ''}"


@dataclass
class Chart:
    """A bar chart laid out in SVG user units; the template only draws it."""

    width: int
    height: int
    top: int
    left: int
    bottom: int
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, int]] = field(default_factory=list)  # (y, value)
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x, text) under some bars
    total: int = 0
    peak: int = 0

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom

    @property
    def plot_right(self) -> int:
        return self.width


@dataclass
class Dashboard:
    pending_comments: int
    pending_linkbacks: int
    today: int
    this_week: int
    most_discussed: list[Article]
    chart: Chart


def _day_expr():
    """The calendar day of created_at, in SQL both SQLite and PostgreSQL understand."""
    if db.engine.dialect.name == "sqlite":
        return func.date(Comment.created_at)
    return cast(Comment.created_at, Date)


def _since(start: datetime) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(
                Comment.status.in_(CONVERSATION),
                Comment.created_at >= start,
                Comment.kind == CommentKind.COMMENT.value,
            )
        )
        or 0
    )


def per_day(days: int = CHART_DAYS, now: datetime | None = None) -> list[tuple[date, int]]:
    """Comments received on each of the last ``days`` days (UTC), oldest first, zeros included."""
    now = now or utcnow()
    first = (now - timedelta(days=days - 1)).date()
    day = _day_expr().label("day")
    rows = db.session.execute(
        select(day, func.count())
        .where(
            Comment.status.in_(CONVERSATION),
            Comment.created_at >= datetime.combine(first, datetime.min.time()),
            Comment.kind == CommentKind.COMMENT.value,
        )
        .group_by(day)
    ).all()
    found: dict[date, int] = {}
    for value, count in rows:
        key = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        found[key] = count
    return [(first + timedelta(days=i), found.get(first + timedelta(days=i), 0)) for i in range(days)]


def _nice_ceiling(value: int) -> int:
    """A round axis maximum at or above value: 4, 10, 25, 50, 120…"""
    if value <= 4:
        return 4
    magnitude = 10 ** int(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return value


def build_chart(series: list[tuple[date, int]], width: int = 720, height: int = 240) -> Chart:
    chart = Chart(width=width, height=height, top=12, left=36, bottom=28)
    right = 20  # room for the last day's label, centred under its bar
    peak = max((n for _, n in series), default=0)
    ceiling = _nice_ceiling(peak)
    plot_h = height - chart.top - chart.bottom
    slot = (width - chart.left - right) / max(len(series), 1)
    bar_w = max(slot * 0.7, 1)
    for i, (day, n) in enumerate(series):
        h = plot_h * n / ceiling if ceiling else 0
        x = chart.left + i * slot + (slot - bar_w) / 2
        chart.bars.append(Bar(day, n, round(x, 2), round(chart.top + plot_h - h, 2), round(bar_w, 2), round(h, 2)))
        if (len(series) - 1 - i) % 7 == 0:  # a label each week, ending on today
            chart.labels.append((round(x + bar_w / 2, 2), f"{day.day} {day:%b}"))
    for value in (0, ceiling // 2, ceiling):
        chart.ticks.append((round(chart.top + plot_h - plot_h * value / ceiling, 2), value))
    chart.total = sum(n for _, n in series)
    chart.peak = peak
    return chart


def dashboard(now: datetime | None = None) -> Dashboard:
    now = now or utcnow()
    pending = dict(
        db.session.execute(
            select(Comment.kind, func.count())
            .where(Comment.status == CommentStatus.PENDING.value)
            .group_by(Comment.kind)
        ).all()
    )
    midnight = datetime.combine(now.date(), datetime.min.time())
    monday = midnight - timedelta(days=now.weekday())
    most = list(
        db.session.scalars(
            select(Article)
            .where(Article.comment_count > 0)
            .order_by(Article.comment_count.desc(), Article.id.desc())
            .limit(5)
        )
    )
    return Dashboard(
        pending_comments=pending.get(CommentKind.COMMENT.value, 0),
        pending_linkbacks=sum(pending.get(k, 0) for k in LINKBACK_KINDS),
        today=_since(midnight),
        this_week=_since(monday),
        most_discussed=most,
        chart=build_chart(per_day(now=now)),
    )
