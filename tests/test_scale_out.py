"""Two app instances on one PostgreSQL and one Redis behave as one site: what is posted
through one shows on the other at once, rate limits and flood control are shared, and a
dashboard session opened on one works on the other."""

from __future__ import annotations

import http.cookiejar
import os
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy.engine import make_url

from tests.comment_helpers import set_settings
from tests.gunicorn_server import Gunicorn

REDIS_URL = os.environ.get("REDIS_TEST_URL", "")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


class Browser:
    """A cookie-keeping client, the way one reader's browser talks to the site."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def get(self, url: str) -> tuple[int, str]:
        try:
            with self.opener.open(url, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, url: str, fields: dict) -> int:
        try:
            with self.opener.open(url, data=urllib.parse.urlencode(fields).encode(), timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def comment(self, base: str, slug: str, body: str) -> int:
        _, page = self.get(f"{base}/article/{slug}")
        fields = {
            "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1),
            "issued": re.search(r'name="issued" type="hidden" value="([^"]+)"', page).group(1),
            "name": "Roaming Reader",
            "body": body,
            "homepage": "",
        }
        return self.post(f"{base}/article/{slug}/comments", fields)


@pytest.fixture
def two_instances(make_app, database_url):
    if make_url(database_url).get_backend_name() != "postgresql" or not REDIS_URL:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL) and Redis (REDIS_TEST_URL), as in CI")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = make_app(REDIS_URL=REDIS_URL)
    shared = {"REDIS_URL": REDIS_URL}
    with (
        Gunicorn(database_url, workers=2, environ=shared, COMMENT_MIN_SECONDS="0") as a,
        Gunicorn(database_url, workers=2, environ=shared, COMMENT_MIN_SECONDS="0") as b,
    ):
        yield app, a.url, b.url


def test_a_comment_posted_on_one_instance_shows_on_the_other(two_instances, factory):
    app, a, b = two_instances
    set_settings(app, flood_seconds=0)
    article = factory.article("Shared story")
    reader = Browser()
    assert reader.get(f"{b}/article/{article.slug}")[0] == 200  # b has it cached now
    assert reader.comment(a, article.slug, "Posted through instance A") == 303
    status, page = Browser().get(f"{b}/article/{article.slug}")
    assert status == 200 and "Posted through instance A" in page and "1 Comment" in page


def test_flood_control_and_rate_limits_are_shared(two_instances, factory):
    app, a, b = two_instances
    set_settings(app, flood_seconds=15)
    article = factory.article("Flooded story")
    reader = Browser()
    assert reader.comment(a, article.slug, "first") == 303
    assert reader.comment(b, article.slug, "second, too soon") == 429  # the flood interval holds across instances
    set_settings(app, flood_seconds=0)
    codes = [reader.comment(a if i % 2 else b, article.slug, f"burst {i}") for i in range(25)]
    # 20 posts a minute per address, counted in Redis by both instances together: the two
    # posts above count too, so 18 more get in; unshared limits would have let all 25 in.
    assert codes[:18] == [303] * 18 and set(codes[18:]) == {429}, codes


def test_dashboard_session_works_on_both(two_instances, factory):
    _, a, b = two_instances
    factory.user("roamer", password="long enough password", role="admin")
    staff = Browser()
    _, login = staff.get(f"{a}/admin/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    assert (
        staff.post(f"{a}/admin/login", {"csrf_token": token, "username": "roamer", "password": "long enough password"})
        == 303
    )
    status, page = staff.get(f"{b}/admin/")
    assert status == 200 and "roamer" in page.lower()
