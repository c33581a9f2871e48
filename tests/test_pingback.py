"""Pingback 1.0 over real HTTP: ``xmlrpc.client`` calls a running Gazette, which
verifies the source page on another real server."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import xmlrpc.client

import pytest
from sqlalchemy import select

from extensions import db
from models import Comment
from services import settings as site_settings
from tests.live import LiveServer
from tests.remote_site import RemoteSite


@pytest.fixture
def live(app):
    app.config.update(ALLOW_PRIVATE_FETCH=True, LINKBACK_FETCH_TIMEOUT=1.0)
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def remote():
    with RemoteSite() as site:
        yield site


def server(live) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(f"{live.url}/xmlrpc")


def fault_of(call) -> int:
    with pytest.raises(xmlrpc.client.Fault) as info:
        call()
    return info.value.faultCode


def rows(app, article_id=None) -> list[Comment]:
    with app.app_context():
        stmt = select(Comment).order_by(Comment.id)
        if article_id is not None:
            stmt = stmt.where(Comment.article_id == article_id)
        found = list(db.session.scalars(stmt))
        for r in found:
            db.session.expunge(r)
        return found


def post_xml(live, body: bytes, content_type: str = "text/xml"):
    req = urllib.request.Request(f"{live.url}/xmlrpc", data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type"), err.read()


def fault_code(raw: bytes) -> int:
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(raw)
    return info.value.faultCode


# ---------------------------------------------------------------- discovery and success


def test_article_page_advertises_the_pingback_server(factory, live):
    article = factory.article()
    with urllib.request.urlopen(live.article_url(article)) as resp:
        page = resp.read().decode()
        assert resp.headers["X-Pingback"] == f"{live.url}/xmlrpc"
    assert f'<link rel="pingback" href="{live.url}/xmlrpc">' in page


def test_pingback_from_a_page_that_links_is_registered_and_shown(app, factory, live, remote):
    article = factory.article()
    target = live.article_url(article)
    source = remote.linking_page("/2024/05/harbour", target, title="Why the wall matters", site_name="Bay Watch")
    result = server(live).pingback.ping(source, target)
    assert isinstance(result, str) and "registered" in result

    [lb] = rows(app, article.id)
    assert (lb.kind, lb.status, lb.source_url) == ("pingback", "approved", source)
    assert (lb.title, lb.author_name) == ("Why the wall matters", "Bay Watch")
    assert "reported this week" in lb.body_source and lb.body_source.startswith("[…]")

    page = urllib.request.urlopen(target).read().decode()
    assert "1 Trackback" in page and "Why the wall matters" in page and "Bay Watch" in page


def test_a_target_with_a_fragment_is_the_same_article(app, factory, live, remote):
    article = factory.article()
    target = live.article_url(article)
    source = remote.linking_page("/p", target + "#comments")
    assert "registered" in server(live).pingback.ping(source, target + "#comments")
    assert len(rows(app, article.id)) == 1


def test_verification_off_holds_the_pingback_without_fetching(app, factory, live, remote):
    with app.app_context():
        s = site_settings.load()
        s.verify_linkbacks = False
        site_settings.save(s)
        db.session.commit()
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    server(live).pingback.ping(source, live.article_url(article))
    assert remote.hits == []
    assert rows(app, article.id)[0].status == "pending"


# ---------------------------------------------------------------- the spec's faults


def test_source_without_a_link_is_fault_0x0011_and_stored_as_spam(app, factory, live, remote):
    article = factory.article()
    source = remote.plain_page("/other")
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0011
    assert [r.status for r in rows(app, article.id)] == ["spam"]


def test_source_that_does_not_exist_is_fault_0x0010(app, factory, live, remote):
    article = factory.article()
    assert fault_of(lambda: server(live).pingback.ping(f"{remote.url}/missing", live.article_url(article))) == 0x0010
    assert rows(app) == []


@pytest.mark.parametrize("source", ["ftp://example.com/x", "not a url", "javascript:alert(1)", ""])
def test_source_that_is_not_an_http_url_is_fault_0x0010(app, factory, live, source):
    article = factory.article()
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0010


def test_private_source_is_refused_when_not_allowed(app, factory, live, remote):
    app.config["ALLOW_PRIVATE_FETCH"] = False
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0010
    assert remote.hits == [] and rows(app) == []


@pytest.mark.parametrize(
    "make_target",
    [
        lambda live, a: "https://elsewhere.example/article/" + a.slug,
        lambda live, a: f"{live.url}/article/no-such-story",
        lambda live, a: f"{live.url}/no/such/page",
    ],
)
def test_target_that_does_not_exist_here_is_fault_0x0020(app, factory, live, remote, make_target):
    article = factory.article()
    target = make_target(live, article)
    source = remote.linking_page("/p", target)
    assert fault_of(lambda: server(live).pingback.ping(source, target)) == 0x0020
    assert remote.hits == []


def test_unpublished_article_is_fault_0x0020(app, factory, live, remote):
    article = factory.article(status="draft")
    source = remote.linking_page("/p", live.article_url(article))
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0020


def test_target_that_is_not_an_article_is_fault_0x0021(app, factory, live, remote):
    factory.article()
    source = remote.linking_page("/p", f"{live.url}/")
    assert fault_of(lambda: server(live).pingback.ping(source, f"{live.url}/")) == 0x0021


def test_pings_closed_is_fault_0x0021(app, factory, live, remote):
    article = factory.article(pings_open=False)
    source = remote.linking_page("/p", live.article_url(article))
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0021
    assert rows(app) == []


def test_second_pingback_from_the_same_source_is_fault_0x0030(app, factory, live, remote):
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    server(live).pingback.ping(source, live.article_url(article))
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0030
    assert len(rows(app, article.id)) == 1


def test_banned_sender_is_fault_0x0031(app, factory, live, remote):
    with app.app_context():
        s = site_settings.load()
        s.banned_ips = "127.0.0.1"
        site_settings.save(s)
        db.session.commit()
    article = factory.article()
    source = remote.linking_page("/p", live.article_url(article))
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0031
    assert rows(app) == [] and remote.hits == []


def test_rate_limit_per_source_host_is_fault_0x0031(make_app, factory, remote):
    app = make_app(RATELIMIT_ENABLED=True, ALLOW_PRIVATE_FETCH=True, LINKBACK_SOURCE_LIMIT="1 per hour")
    article = factory.article()
    with LiveServer(app) as live:
        target = live.article_url(article)
        server(live).pingback.ping(remote.linking_page("/a", target), target)
        assert fault_of(lambda: server(live).pingback.ping(remote.linking_page("/b", target), target)) == 0x0031


def test_source_that_times_out_is_fault_0x0032_without_hanging(app, factory, live, remote):
    article = factory.article()
    source = remote.slow("/slow", 5)
    started = time.monotonic()
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0032
    assert time.monotonic() - started < 3
    assert rows(app) == []


def test_source_server_error_is_fault_0x0032(app, factory, live, remote):
    article = factory.article()
    source = remote.page("/broken", "<p>oops</p>", status=503)
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0032


def test_huge_source_is_read_only_up_to_the_cap(app, factory, live, remote):
    app.config["LINKBACK_FETCH_MAX_BYTES"] = 256 * 1024
    article = factory.article()
    source = remote.huge("/huge", 8 * 1024 * 1024, tail=f'<a href="{live.article_url(article)}">x</a>')
    started = time.monotonic()
    assert fault_of(lambda: server(live).pingback.ping(source, live.article_url(article))) == 0x0011
    assert time.monotonic() - started < 5


def test_source_equal_to_target_is_a_fault(app, factory, live):
    article = factory.article()
    target = live.article_url(article)
    assert fault_of(lambda: server(live).pingback.ping(target, target)) == 0
    assert rows(app) == []


# ---------------------------------------------------------------- malformed and hostile XML-RPC

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodCall><methodName>pingback.ping</methodName><params>
<param><value><string>&lol9;</string></value></param>
<param><value><string>&lol9;</string></value></param>
</params></methodCall>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>pingback.ping</methodName><params>
<param><value><string>&xxe;</string></value></param>
<param><value><string>http://example.com/</string></value></param>
</params></methodCall>"""


def test_billion_laughs_is_refused_quickly(app, live):
    started = time.monotonic()
    status, ctype, raw = post_xml(live, BILLION_LAUGHS)
    assert status == 200 and ctype.startswith("text/xml")
    assert fault_code(raw) == -32700
    assert time.monotonic() - started < 2
    assert rows(app) == []


def test_external_entities_are_never_resolved(app, live):
    status, _, raw = post_xml(live, EXTERNAL_ENTITY)
    assert fault_code(raw) == -32700
    assert b"root:" not in raw


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<methodCall><methodName>pingback.ping</methodName>",
        b"<methodResponse><params><param><value>x</value></param></params></methodResponse>",
        b"<methodCall><methodName>pingback.ping</methodName><params><param><value><int>abc</int></value>"
        b"</param></params></methodCall>",
        b"\xff\xfe<methodCall/>",
    ],
)
def test_malformed_xml_rpc_is_a_fault(app, live, body):
    status, ctype, raw = post_xml(live, body)
    assert status == 200 and ctype.startswith("text/xml")
    assert fault_code(raw) in (-32700, -32600)


def test_oversized_xml_rpc_is_413_with_a_fault(app, live):
    padding = b"<!-- " + b"x" * 100_000 + b" -->"
    status, ctype, raw = post_xml(live, padding + xmlrpc.client.dumps(("a", "b"), "pingback.ping").encode())
    assert status == 413 and ctype.startswith("text/xml")
    assert fault_code(raw) == -32700


def test_unknown_method_is_a_fault(live):
    assert fault_of(lambda: server(live).system.listMethods()) == -32601
    assert fault_of(lambda: server(live).wp.getUsersBlogs("admin", "password")) == -32601


@pytest.mark.parametrize("params", [(), ("only-one",), ("a", "b", "c"), (1, 2), (["a"], {"b": 1})])
def test_wrong_parameters_are_a_fault(live, params):
    assert fault_of(lambda: server(live).pingback.ping(*params)) == -32602


def test_get_on_the_xmlrpc_endpoint_is_405_plain_text(live):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{live.url}/xmlrpc")
    assert info.value.code == 405
    assert info.value.headers["Content-Type"].startswith("text/plain")
    assert info.value.headers["Allow"] == "POST"


def test_a_forged_host_header_does_not_make_a_target_ours(app, factory, live, remote):
    app.config["SITE_URL"] = "https://gazette.example"
    article = factory.article()
    target = f"http://evil.example/article/{article.slug}"
    source = remote.linking_page("/p", target)
    body = xmlrpc.client.dumps((source, target), "pingback.ping").encode()
    req = urllib.request.Request(
        f"{live.url}/xmlrpc", data=body, headers={"Content-Type": "text/xml", "Host": "evil.example"}
    )
    assert fault_code(urllib.request.urlopen(req).read()) == 0x0020
    assert rows(app) == [] and remote.hits == []
