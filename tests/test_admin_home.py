"""The dashboard's home: what waits, how busy it was, and a chart that is a picture."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from extensions import db
from models import Comment, utcnow
from services import stats
from tests import admin_helpers

auth = admin_helpers.auth
admin_client = admin_helpers.admin_client
editor_client = admin_helpers.editor_client


def _value(html: str, ident: str) -> int:
    return int(re.search(rf'id="{ident}">(\d+)<', html).group(1))


def test_home_shows_pending_and_recent_counts(admin_client, factory):
    a = factory.article("Busy story")
    b = factory.article("Quiet story")
    factory.comment(a, status="pending", minutes_ago=5)
    factory.comment(a, status="pending", kind="trackback", minutes_ago=5)
    factory.comment(a, status="pending", kind="webmention", minutes_ago=5)
    for _ in range(3):
        factory.comment(a, status="approved", minutes_ago=10)
    factory.comment(b, status="approved", minutes_ago=60 * 24 * 20)
    factory.comment(b, status="spam", minutes_ago=10)
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert _value(html, "stat-pending-comments") == 1
    assert _value(html, "stat-pending-linkbacks") == 2
    now = utcnow()
    if now.hour * 60 + now.minute > 15:  # the comments above were all made today (UTC)
        # one pending and three approved comments; linkbacks and spam are not conversation
        assert _value(html, "stat-today") == 4
    assert _value(html, "stat-week") >= _value(html, "stat-today")
    ranked = html.split("Most discussed")[1]
    assert ranked.index("Busy story") < ranked.index("Quiet story")
    assert "3 comments" in ranked


def test_home_chart_is_an_svg_picture_not_a_table(admin_client, factory):
    a = factory.article()
    factory.comment(a, minutes_ago=5)
    html = admin_client.get("/admin/").get_data(as_text=True)
    chart = html.split('<svg class="chart"')[1].split("</svg>")[0]
    assert 'role="img"' in chart and "<title" in chart and "<desc" in chart
    assert chart.count("<rect") == 30
    assert "<table" not in html.split("Comments per day")[1].split("Most discussed")[0]
    assert "style=" not in chart


def test_per_day_groups_by_calendar_day(app, factory):
    a = factory.article()
    now = datetime(2026, 3, 10, 12, 0)
    with app.app_context():
        for when, status in [
            (now - timedelta(hours=1), "approved"),
            (now - timedelta(hours=2), "pending"),
            (now - timedelta(days=1, hours=1), "approved"),
            (now - timedelta(days=1, hours=2), "spam"),
            (now - timedelta(days=40), "approved"),
        ]:
            db.session.add(Comment(article_id=a.id, status=status, author_name="R", created_at=when, updated_at=when))
        db.session.commit()
        series = stats.per_day(now=now)
    assert len(series) == 30 and series[-1] == (date(2026, 3, 10), 2) and series[-2] == (date(2026, 3, 9), 1)
    assert sum(n for _, n in series) == 3


def test_chart_geometry_scales_to_the_busiest_day():
    series = [(date(2026, 1, 1) + timedelta(days=i), i % 5) for i in range(30)]
    chart = stats.build_chart(series)
    assert chart.peak == 4 and chart.ticks[-1][1] == 4
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.count == 4 and abs(tallest.y - chart.top) < 0.01
    assert all(b.height == 0 for b in chart.bars if b.count == 0)


def test_editors_see_home_without_moderation_links(editor_client, factory):
    a = factory.article()
    factory.comment(a, status="pending")
    html = editor_client.get("/admin/").get_data(as_text=True)
    assert _value(html, "stat-pending-comments") == 1
    assert "/admin/comments" not in html and "/admin/settings" not in html


def test_today_counts_only_since_midnight_utc(app, factory):
    a = factory.article()
    now = utcnow()
    minutes_since_midnight = now.hour * 60 + now.minute
    factory.comment(a, minutes_ago=0)
    factory.comment(a, minutes_ago=minutes_since_midnight + 5)
    with app.app_context():
        dash = stats.dashboard(now=now)
    assert dash.today == 1 and dash.this_week >= 1
